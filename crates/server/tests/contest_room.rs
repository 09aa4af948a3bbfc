//! Signalling accepts media tokens for rooms that exist only in the contest database.

mod common;

use common::{Client, TestServer};
use profstage_contest::{
    Database, NewContest, NewNomination, NewRoom, NewStage, NewStagePart, PartKind,
};
use profstage_server::signalling::protocol::{Role, ServerMessage};
use serde_json::json;

#[tokio::test]
async fn contest_room_can_be_joined() {
    let server = TestServer::start().await;
    let file = server.data.path().join("data").join("profstage.db");
    let db = Database::open_sqlite(&file)
        .await
        .expect("the server's database opens");
    db.create_organiser("chief", "Организатор", "organiser password 2027")
        .await
        .unwrap();
    let actor = db
        .sign_in("chief", "organiser password 2027")
        .await
        .unwrap()
        .info
        .actor();

    let name = NewContest {
        name: "Конкурс".into(),
        description: String::new(),
        recording_retention_days: None,
    };
    let contest = db.create_contest(&actor, &name).await.unwrap();
    let stage = NewStage {
        region: "Регион".into(),
        starts_at: Some(0),
        ends_at: Some(1),
    };
    let stage = db.create_stage(&actor, &contest.id, &stage).await.unwrap();
    let nomination = NewNomination {
        profession: "Повар".into(),
    };
    let nomination = db
        .create_nomination(&actor, &stage.id, &nomination)
        .await
        .unwrap();
    let part = NewStagePart {
        kind: Some(PartKind::Theory),
        title: "Теория".into(),
    };
    let part = db
        .create_stage_part(&actor, &nomination.id, &part)
        .await
        .unwrap();
    let room = NewRoom {
        title: "Аудитория 5".into(),
    };
    let room = db.create_room(&actor, &part.id, &room).await.unwrap();

    let mut client = Client::connect(&server).await;
    let token = server.token("p1", room.id.as_str(), Role::Participant);
    client
        .send(json!({"type": "join", "protocol": 1, "token": token}))
        .await;
    match client.receive().await {
        ServerMessage::Welcome {
            room: joined,
            room_title,
            ..
        } => {
            assert_eq!(joined, room.id.as_str());
            assert_eq!(room_title, "Аудитория 5");
        }
        other => panic!("expected welcome, got {other:?}"),
    }
}
