//! `profstage create-organiser`: the password comes from standard input, is never echoed,
//! and signs the new organiser in.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use profstage_contest::{Database, Error};

const PASSWORD: &str = "a long organiser password";

/// Runs the command in `folder`, with no `PROFSTAGE_` variables but the data folder.
fn create_organiser(folder: &Path, login: &str, stdin: &str) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_profstage"));
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("PROFSTAGE_")) {
        command.env_remove(name);
    }
    let mut child = command
        .current_dir(folder)
        .env("PROFSTAGE_RECORDING_DATA_DIR", folder.join("data"))
        .args([
            "create-organiser",
            "--login",
            login,
            "--name",
            "Анна Смирнова",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("profstage starts");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn printed(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    format!("{stdout}{stderr}")
}

#[tokio::test]
async fn organiser_signs_in_after_creation() {
    let folder = tempfile::tempdir().unwrap();
    let output = create_organiser(folder.path(), "anna", &format!("{PASSWORD}\n"));
    let text = printed(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("created organiser anna"), "{text}");
    let file = folder.path().join("data/profstage.db");
    assert!(
        text.contains(&format!("in the SQLite file {}", file.display())),
        "{text}"
    );
    assert!(!text.contains(PASSWORD), "the password was printed: {text}");

    let db = Database::open_sqlite(&folder.path().join("data/profstage.db"))
        .await
        .unwrap();
    let session = db
        .sign_in("anna", PASSWORD)
        .await
        .expect("the organiser signs in");
    assert_eq!(session.info.role, profstage_contest::Role::Organiser);
    let wrong = db.sign_in("anna", "another long password").await;
    assert!(matches!(wrong, Err(Error::WrongCredentials)), "{wrong:?}");
}

#[test]
fn empty_or_short_password_is_rejected() {
    let folder = tempfile::tempdir().unwrap();
    let empty = create_organiser(folder.path(), "empty", "");
    assert!(!empty.status.success());
    assert!(
        printed(&empty).contains("standard input is empty"),
        "{}",
        printed(&empty)
    );

    let short = create_organiser(folder.path(), "short", "short\n");
    assert!(!short.status.success());
    assert!(
        printed(&short).contains("invalid password"),
        "{}",
        printed(&short)
    );
    assert!(!printed(&short).contains("short\n"), "{}", printed(&short));
}

#[test]
fn duplicate_login_is_rejected() {
    let folder = tempfile::tempdir().unwrap();
    let first = create_organiser(folder.path(), "twice", &format!("{PASSWORD}\n"));
    assert!(first.status.success(), "{}", printed(&first));
    let second = create_organiser(folder.path(), "Twice", &format!("{PASSWORD}\n"));
    assert!(!second.status.success());
    assert!(
        printed(&second).contains("already exists"),
        "{}",
        printed(&second)
    );
}
