//! `profstage-load`: runs a load against a Profstage server and prints the figures.

use std::process::ExitCode;

use clap::Parser;
use profstage_loadgen::{run, Options};

fn main() -> ExitCode {
    let options = Options::parse();
    raise_file_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(options.threads.max(1))
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("profstage-load: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let report = match runtime.block_on(run(&options)) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("profstage-load: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{report}");
    if let Some(path) = &options.json {
        let written = serde_json::to_vec_pretty(&report)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json));
        if let Err(error) = written {
            eprintln!("profstage-load: cannot write {}: {error}", path.display());
            return ExitCode::from(2);
        }
    }
    // Clients that did not leave in time were aborted; do not wait for them.
    runtime.shutdown_background();
    if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Raises the soft limit of open files to the hard limit: each client has a UDP socket
/// and a TCP connection.
fn raise_file_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
    }
}
