//! `profstage-floor`: measures the floor cost of forwarding one packet on this host, one
//! loopback `sendto`, one `recv` and one AES-128-GCM encryption (`floor.rs`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use profstage_loadgen::floor;

/// Options of `profstage-floor`.
#[derive(Debug, Parser)]
#[command(
    name = "profstage-floor",
    version,
    about = "Measures the CPU time of one loopback UDP sendto, one recv and one AES-128-GCM \
             encryption of a packet, and the packets per second of one core they imply"
)]
struct Options {
    /// Operations of each kind to time
    #[arg(long, default_value_t = 400_000)]
    packets: u64,

    /// Bytes of each datagram and encrypted payload
    #[arg(long, default_value_t = 1200)]
    size: usize,

    /// Write the figures as JSON to this file
    #[arg(long, value_name = "PATH")]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let options = Options::parse();
    let floor = match floor::measure(options.packets, options.size) {
        Ok(floor) => floor,
        Err(error) => {
            eprintln!("profstage-floor: {error}");
            return ExitCode::from(2);
        }
    };
    println!("profstage-floor: {} bytes per packet", floor.size);
    println!("  operation   CPU us/packet  wall us/packet  packets per core-second");
    for (name, cost) in [
        ("sendto", floor.send),
        ("recv", floor.recv),
        ("AES-GCM", floor.encrypt),
    ] {
        println!(
            "  {name:<10} {:>14.3} {:>15.3} {:>24.0}",
            cost.cpu_us, cost.wall_us, cost.per_core_second
        );
    }
    println!(
        "  sendto + AES-GCM, the floor per forwarded packet: {:.3} us, {:.0} per core-second",
        floor.forward_us, floor.forward_per_core_second
    );
    if let Some(path) = &options.json {
        let written = serde_json::to_vec_pretty(&floor)
            .map_err(std::io::Error::other)
            .and_then(|json| std::fs::write(path, json));
        if let Err(error) = written {
            eprintln!("profstage-floor: cannot write {}: {error}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
