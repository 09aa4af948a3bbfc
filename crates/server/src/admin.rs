//! Subcommands of the `profstage` binary that manage the contest database instead of
//! serving.

use std::io::{self, BufRead, IsTerminal};
use std::process::ExitCode;

use crate::app::open_database;
use crate::config::Config;

/// A subcommand. Without one, `profstage` runs the server.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum Command {
    /// Create an organiser account in the contest database. The password is read from
    /// standard input: typed at a prompt without echo on a terminal, or the first line of
    /// piped input
    CreateOrganiser {
        /// Login for signing in: 1 to 64 letters, digits or . _ - @, in any letter case
        #[arg(long)]
        login: String,
        /// Full name shown to others, 1 to 100 characters
        #[arg(long)]
        name: String,
    },
}

/// Runs a subcommand and returns the process's exit status.
pub async fn run(command: &Command, config: &Config) -> ExitCode {
    match command {
        Command::CreateOrganiser { login, name } => create_organiser(config, login, name).await,
    }
}

async fn create_organiser(config: &Config, login: &str, name: &str) -> ExitCode {
    let password = match read_password() {
        Ok(password) => password,
        Err(error) => {
            eprintln!("profstage: failed to read the password: {error}");
            return ExitCode::FAILURE;
        }
    };
    let database = match open_database(config).await {
        Ok(database) => database,
        Err(error) => {
            eprintln!("profstage: {error}");
            return ExitCode::FAILURE;
        }
    };
    let created = database.create_organiser(login, name, &password).await;
    database.close().await;
    match created {
        Ok(person) => {
            println!(
                "created organiser {login} with id {} in {}",
                person.id,
                database_name(config)
            );
            ExitCode::SUCCESS
        }
        Err(profstage_contest::Error::Invalid(fields)) => {
            for field in fields {
                eprintln!("profstage: invalid {}: {}", field.field, field.message);
            }
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("profstage: failed to create the organiser: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Names the database that [`open_database`] opens: a relative data folder depends on the
/// working folder, so the server started elsewhere would not find the account.
fn database_name(config: &Config) -> String {
    if config.database.url.is_some() {
        return "the PostgreSQL database of database.url".to_owned();
    }
    let path = config.recording.data_dir.join(crate::config::SQLITE_FILE);
    let path = std::path::absolute(&path).unwrap_or(path);
    format!("the SQLite file {}", path.display())
}

/// Reads the password: at a prompt without echo, asked twice, when standard input is a
/// terminal, otherwise the first line of standard input.
fn read_password() -> io::Result<String> {
    if io::stdin().is_terminal() {
        let password = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        if password != again {
            return Err(io::Error::other("the passwords differ"));
        }
        return Ok(password);
    }
    let mut line = String::new();
    io::stdin().lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']).to_owned();
    if password.is_empty() {
        return Err(io::Error::other(
            "standard input is empty; pipe the password in or run from a terminal",
        ));
    }
    Ok(password)
}
