//! Databases for tests: a fresh SQLite file, or a fresh database on a PostgreSQL server.
//!
//! The PostgreSQL server is `PROFSTAGE_TEST_DATABASE_URL` when set (a URL whose user may
//! create databases). Otherwise [`PostgresServer::start`] runs `initdb` and `pg_ctl` from
//! Debian's postgresql package into a temporary folder, listening on a Unix socket in that
//! folder only. As root it runs them as the `postgres` user, because PostgreSQL refuses to
//! run as root.

use std::path::{Path, PathBuf};
use std::process::Command;

use uuid::Uuid;

/// Environment variable naming an existing PostgreSQL server for the tests.
pub const TEST_DATABASE_URL_ENV: &str = "PROFSTAGE_TEST_DATABASE_URL";

/// Folder of the PostgreSQL 15 programs on Debian 12.
const POSTGRES_BIN: &str = "/usr/lib/postgresql/15/bin";

/// A PostgreSQL server for tests; stopped when dropped if the tests started it.
pub struct PostgresServer {
    /// URL of the server's `postgres` database, without a database name.
    base: String,
    started: Option<Started>,
}

struct Started {
    folder: tempfile::TempDir,
    data: PathBuf,
    as_postgres_user: bool,
}

impl PostgresServer {
    /// Uses `PROFSTAGE_TEST_DATABASE_URL`, or starts a server in a temporary folder.
    ///
    /// # Panics
    ///
    /// When `initdb` or `pg_ctl` fail; the message names the program and its output.
    pub fn start() -> Self {
        if let Ok(url) = std::env::var(TEST_DATABASE_URL_ENV) {
            return Self {
                base: url.trim_end_matches('/').to_owned(),
                started: None,
            };
        }

        // NOTE: a Unix socket path has at most 107 bytes, so a long TMPDIR breaks this.
        let folder = tempfile::Builder::new()
            .prefix("profstage-pg-")
            .tempdir()
            .expect("a temporary folder for PostgreSQL");
        let as_postgres_user = is_root();
        let socket = folder.path().join("socket");
        std::fs::create_dir_all(&socket).expect("socket folder");
        if as_postgres_user {
            chown_to_postgres(folder.path());
        }

        let user = if as_postgres_user {
            "postgres"
        } else {
            "profstage"
        };
        let data = folder.path().join("data");
        init_cluster(as_postgres_user, &data, user);
        start_server(
            as_postgres_user,
            &data,
            &socket,
            &folder.path().join("postgres.log"),
        );

        let base = format!("postgres://{user}@localhost/?host={}", path_str(&socket));
        Self {
            base,
            started: Some(Started {
                folder,
                data,
                as_postgres_user,
            }),
        }
    }

    /// Creates a fresh, empty database and returns its URL.
    pub async fn create_database(&self) -> String {
        use sqlx::Connection;

        let name = format!("profstage_test_{}", Uuid::new_v4().simple());
        let admin_url = self.url_for("postgres");
        let mut admin = sqlx::PgConnection::connect(&admin_url)
            .await
            .expect("connect to the test PostgreSQL server");
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create a test database");
        admin.close().await.ok();
        self.url_for(&name)
    }

    fn url_for(&self, database: &str) -> String {
        match self.base.split_once("/?") {
            Some((server, query)) => format!("{server}/{database}?{query}"),
            None => format!("{}/{database}", self.base),
        }
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        if let Some(started) = &self.started {
            let status = pg_command(started.as_postgres_user, "pg_ctl")
                .args([
                    "-D",
                    path_str(&started.data),
                    "-m",
                    "immediate",
                    "-w",
                    "stop",
                ])
                .output();
            if let Err(error) = status {
                let folder = started.folder.path().display();
                eprintln!("failed to stop the test PostgreSQL server in {folder}: {error}");
            }
        }
    }
}

/// Returns a fresh SQLite database URL in `folder`.
pub fn sqlite_url(folder: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        folder.join("profstage.db").display()
    )
}

/// Creates a cluster with a superuser `user` that needs no password.
fn init_cluster(as_postgres_user: bool, data: &Path, user: &str) {
    let args = [
        "-D",
        path_str(data),
        "-U",
        user,
        "--auth=trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--locale=C.UTF-8",
    ];
    run(as_postgres_user, "initdb", &args);
}

/// Starts the server on a Unix socket in `socket` only, with durability off for speed.
fn start_server(as_postgres_user: bool, data: &Path, socket: &Path, log: &Path) {
    let options = format!(
        "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
        path_str(socket)
    );
    let args = [
        "-D",
        path_str(data),
        "-o",
        &options,
        "-l",
        path_str(log),
        "-w",
        "start",
    ];
    run(as_postgres_user, "pg_ctl", &args);
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
        .unwrap_or(false)
}

fn chown_to_postgres(path: &Path) {
    let status = Command::new("chown")
        .args(["-R", "postgres:postgres", path_str(path)])
        .status()
        .expect("run chown");
    assert!(
        status.success(),
        "chown of {} to postgres failed",
        path.display()
    );
}

/// Builds a command for a PostgreSQL program. It runs in `/`, because the `postgres` user
/// may not be allowed into the test's current folder.
fn pg_command(as_postgres_user: bool, program: &str) -> Command {
    let program = format!("{POSTGRES_BIN}/{program}");
    let mut command = if as_postgres_user {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", &program]);
        command
    } else {
        Command::new(program)
    };
    command.current_dir("/");
    command
}

fn run(as_postgres_user: bool, program: &str, args: &[&str]) {
    let output = pg_command(as_postgres_user, program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("failed to run {program} from {POSTGRES_BIN}: {error}; scripts/install-deps installs postgresql"));
    assert!(
        output.status.success(),
        "{program} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
