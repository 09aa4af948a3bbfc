//! The roles-and-actions table in docs/contest.md matches `access::allows`.

use profstage_contest::access::allows;
use profstage_contest::{Action, Role};

#[test]
fn documented_table_matches_code() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/contest.md");
    let text = std::fs::read_to_string(path).expect("docs/contest.md exists");
    let section = text
        .split("## Roles and actions")
        .nth(1)
        .expect("a Roles and actions section");
    let rows: Vec<Vec<&str>> = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .map(|line| line.trim_matches('|').split('|').map(str::trim).collect())
        .collect();

    let header = &rows[0][1..];
    let roles: Vec<&str> = Role::ALL.iter().map(|role| role.as_str()).collect();
    assert_eq!(header, roles.as_slice(), "columns must follow Role::ALL");

    let body = &rows[2..];
    assert_eq!(
        body.len(),
        Action::ALL.len(),
        "one row per action, in Action::ALL order"
    );
    for (row, action) in body.iter().zip(Action::ALL) {
        for (cell, role) in row[1..].iter().zip(Role::ALL) {
            let documented = match *cell {
                "yes" => true,
                "no" => false,
                other => panic!("cell {other:?} in row {:?} is neither yes nor no", row[0]),
            };
            assert_eq!(
                documented,
                allows(role, action),
                "{:?} × {role:?} ({})",
                action,
                row[0]
            );
        }
    }
}
