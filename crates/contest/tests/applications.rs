//! Applications against real SQLite and PostgreSQL databases: submission with attachments
//! and consent, the status link, the workflow, duplicates, bad input and the audit log.

use profstage_contest::applications::{participants_csv, participants_html, MAX_ATTACHMENT_BYTES};
use profstage_contest::testing::{sqlite_url, PostgresServer};
use profstage_contest::{
    Actor, ApplicationFilter, AuditFilter, Database, Error, NewApplication, NewAttachment,
    NewContest, NewNomination, NewPerson, NewStage, Nomination, Page, Role, StageId, Status,
    Transition,
};

const PASSWORD: &str = "correct horse battery staple";
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n";
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

struct Fixture {
    db: Database,
    organiser: Actor,
    nomination: Nomination,
}

async fn fixture(url: String) -> Fixture {
    let db = Database::connect(&url).await.expect("database opens");
    db.create_organiser("chief", "Главный Организатор", PASSWORD)
        .await
        .expect("organiser created");
    let organiser = db.sign_in("chief", PASSWORD).await.unwrap().info.actor();
    let contest = NewContest {
        name: "Лучший по профессии 2027".into(),
        description: String::new(),
        recording_retention_days: None,
    };
    let contest = db.create_contest(&organiser, &contest).await.unwrap();
    let stage = NewStage {
        region: "Тверская область".into(),
        starts_at: Some(1_800_000_000_000),
        ends_at: Some(1_800_086_400_000),
    };
    let stage = db
        .create_stage(&organiser, &contest.id, &stage)
        .await
        .unwrap();
    let nomination = NewNomination {
        profession: "Сварщик".into(),
    };
    let nomination = db
        .create_nomination(&organiser, &stage.id, &nomination)
        .await
        .unwrap();
    db.create_consent_text(&organiser, "2027-01", "Я согласен на обработку данных.")
        .await
        .unwrap();
    Fixture {
        db,
        organiser,
        nomination,
    }
}

fn form(fx: &Fixture, name: &str, email: &str) -> NewApplication {
    NewApplication {
        nomination_id: fx.nomination.id.to_string(),
        full_name: name.into(),
        birth_date: "1990-05-17".into(),
        employer: "ООО «Сварка»".into(),
        position: "Сварщик 5 разряда".into(),
        experience_years: Some(12),
        email: email.into(),
        phone: "+7 (900) 123-45-67".into(),
        consent_version: "2027-01".into(),
        consent: true,
    }
}

fn file(content: &[u8]) -> NewAttachment {
    NewAttachment {
        content: content.to_vec(),
    }
}

async fn audit_count(fx: &Fixture) -> usize {
    let all = Page::new(None, Some(Page::MAX_LIMIT)).unwrap();
    let filter = AuditFilter::default();
    let log = fx.db.audit_log(&fx.organiser, &filter, all).await;
    log.unwrap().items.len()
}

async fn count(fx: &Fixture) -> usize {
    let all = Page::new(None, Some(Page::MAX_LIMIT)).unwrap();
    let filter = ApplicationFilter::default();
    let list = fx.db.applications(&fx.organiser, &filter, all).await;
    list.unwrap().items.len()
}

async fn audit_entries(fx: &Fixture) -> Vec<profstage_contest::AuditEntry> {
    let all = Page::new(None, Some(Page::MAX_LIMIT)).unwrap();
    let filter = AuditFilter::default();
    let log = fx.db.audit_log(&fx.organiser, &filter, all).await;
    log.unwrap().items
}

fn fields(error: Error) -> Vec<String> {
    match error {
        Error::Invalid(fields) => fields.into_iter().map(|f| f.field).collect(),
        other => panic!("expected invalid input, got {other:?}"),
    }
}

async fn workflow_end_to_end(fx: Fixture) {
    let db = &fx.db;
    let org = &fx.organiser;
    let new = form(&fx, "Семёнов Пётр Ильич", "petr@example.org");
    let sent = db
        .submit_application(&new, vec![file(PDF), file(PNG)])
        .await
        .unwrap();
    assert_eq!(sent.status_token.len(), 64);
    let status = db.application_status(&sent.status_token).await.unwrap();
    assert_eq!(status.status, Status::Submitted);
    assert!(status.submitted_at > 0);
    assert_eq!(status.submitted_at, status.updated_at);

    let stored = db.application(org, &sent.id).await.unwrap();
    let consent = db.current_consent().await.unwrap();
    assert_eq!(stored.consent_version, "2027-01");
    assert_eq!(stored.consent_sha256, consent.sha256);
    assert!(stored.consented_at > 0);
    assert_eq!(stored.duplicate_of, None);

    let files = db.attachments(org, &sent.id).await.unwrap();
    assert_eq!(files.len(), 2);
    let (pdf, content) = db.attachment(org, &files[0].id).await.unwrap();
    assert_eq!(content, PDF);
    assert_eq!(pdf.kind.media_type(), "application/pdf");

    let ids = [sent.id.clone()];
    let accept_early = db
        .transition_applications(org, &ids, &Transition::Accept)
        .await;
    assert!(
        matches!(accept_early, Err(Error::Conflict { message: m, .. }) if m.contains("submitted"))
    );
    let registered = db.transition_applications(org, &ids, &Transition::Register);
    let registered = registered.await.unwrap();
    assert_eq!(registered[0].number.as_deref(), Some("ЛПП-2027-0001"));
    db.transition_applications(org, &ids, &Transition::StartReview)
        .await
        .unwrap();
    let accepted = db.transition_applications(org, &ids, &Transition::Accept);
    let accepted = accepted.await.unwrap();
    let person_id = accepted[0].person_id.clone().expect("participant created");
    let person = db.person(org, &person_id).await.unwrap();
    assert_eq!(person.role, Role::Participant);
    assert_eq!(person.full_name, "Семёнов Пётр Ильич");

    let status = db.application_status(&sent.status_token).await.unwrap();
    assert_eq!(status.status, Status::Accepted);
    assert_eq!(status.number.as_deref(), Some("ЛПП-2027-0001"));

    let export = db
        .accepted_applications(org, &fx.nomination.stage_id)
        .await
        .unwrap();
    let csv = participants_csv(&export);
    assert!(csv.starts_with('\u{FEFF}'));
    assert!(csv.contains("\r\nЛПП-2027-0001;Семёнов Пётр Ильич;1990-05-17;"));
    let html = participants_html("Участники", &export);
    assert!(html.contains("<td>ЛПП-2027-0001</td><td>Семёнов Пётр Ильич</td>"));
    assert!(html.contains("<td>ООО «Сварка»</td>"));

    let entries = audit_entries(&fx).await;
    let actions: Vec<&str> = entries.iter().map(|e| e.action.as_str()).collect();
    for action in [
        "application.submit",
        "application.status_read",
        "application.read",
        "attachment.list",
        "attachment.read",
        "application.register",
        "application.accept",
        "application.export",
    ] {
        assert!(actions.contains(&action), "{action} audited");
    }
    for entry in &entries {
        assert!(!entry.detail.contains("Семёнов"), "no names in the log");
        assert!(!entry.detail.contains("petr@"), "no e-mail in the log");
    }
}

async fn rejection_needs_reason_and_bulk_is_all_or_nothing(fx: Fixture) {
    let db = &fx.db;
    let org = &fx.organiser;
    let mut ids = Vec::new();
    for (name, email) in [
        ("Иванов Иван", "a@example.org"),
        ("Петров Пётр", "b@example.org"),
    ] {
        let sent = db.submit_application(&form(&fx, name, email), vec![]).await;
        ids.push(sent.unwrap().id);
    }
    db.transition_applications(org, &ids[..1], &Transition::Register)
        .await
        .unwrap();
    let before = audit_count(&fx).await;
    let both = db
        .transition_applications(org, &ids, &Transition::Register)
        .await;
    assert!(matches!(both, Err(Error::Conflict { .. })), "{both:?}");
    assert_eq!(audit_count(&fx).await, before);
    let second = db.application(org, &ids[1]).await.unwrap();
    assert_eq!(second.status, Status::Submitted, "the batch rolled back");

    db.transition_applications(org, &ids[1..], &Transition::Register)
        .await
        .unwrap();
    let numbers: Vec<_> = [&ids[0], &ids[1]].into_iter().collect();
    let first = db.application(org, numbers[0]).await.unwrap().number;
    let second = db.application(org, numbers[1]).await.unwrap().number;
    assert_eq!(first.as_deref(), Some("ЛПП-2027-0001"));
    assert_eq!(
        second.as_deref(),
        Some("ЛПП-2027-0002"),
        "the failed batch used no number"
    );

    db.transition_applications(org, &ids, &Transition::StartReview)
        .await
        .unwrap();
    let blank = Transition::Reject("  ".into());
    let blank = db.transition_applications(org, &ids, &blank).await;
    assert_eq!(fields(blank.unwrap_err()), ["reason"]);
    let reason = Transition::Reject("Стаж меньше трёх лет".into());
    db.transition_applications(org, &ids, &reason)
        .await
        .unwrap();
    let filter = ApplicationFilter {
        status: Some(Status::Rejected),
        ..ApplicationFilter::default()
    };
    let rejected = db.applications(org, &filter, Page::new(None, None).unwrap());
    let rejected = rejected.await.unwrap().items;
    assert_eq!(rejected.len(), 2);
    assert_eq!(
        rejected[0].rejection_reason.as_deref(),
        Some("Стаж меньше трёх лет")
    );
}

async fn bad_input_saves_nothing(fx: Fixture) {
    let db = &fx.db;
    let before = audit_count(&fx).await;
    let ok = form(&fx, "Сидоров Сидор", "s@example.org");

    let empty = db
        .submit_application(&NewApplication::default(), vec![])
        .await;
    let empty = fields(empty.unwrap_err());
    for field in [
        "nomination_id",
        "full_name",
        "birth_date",
        "employer",
        "consent",
    ] {
        assert!(empty.iter().any(|f| f == field), "{field} in {empty:?}");
    }
    let mut malformed = ok.clone();
    malformed.birth_date = "1990-02-30".into();
    malformed.email = "not-an-address".into();
    malformed.experience_years = Some(-3);
    malformed.full_name = "Я".repeat(101);
    let malformed = db.submit_application(&malformed, vec![]).await;
    let mut malformed = fields(malformed.unwrap_err());
    malformed.sort();
    assert_eq!(
        malformed,
        ["birth_date", "email", "experience_years", "full_name"]
    );

    let text_as_pdf = db
        .submit_application(&ok, vec![file(PDF), file(b"plain text named cv.pdf")])
        .await;
    assert_eq!(fields(text_as_pdf.unwrap_err()), ["attachments[1]"]);
    let mut big = PDF.to_vec();
    big.resize(MAX_ATTACHMENT_BYTES + 1, b' ');
    let big = db
        .submit_application(&ok, vec![NewAttachment { content: big }])
        .await;
    assert_eq!(fields(big.unwrap_err()), ["attachments[0]"]);
    let many = vec![file(PNG); 6];
    assert_eq!(
        fields(db.submit_application(&ok, many).await.unwrap_err()),
        ["attachments"]
    );
    let mut old_consent = ok.clone();
    old_consent.consent_version = "2026-01".into();
    let old_consent = db.submit_application(&old_consent, vec![]).await;
    assert_eq!(fields(old_consent.unwrap_err()), ["consent_version"]);
    let mut hidden = ok.clone();
    hidden.full_name = "Сидоров\u{200B}Сидор".into();
    assert_eq!(
        fields(db.submit_application(&hidden, vec![]).await.unwrap_err()),
        ["full_name"]
    );

    assert_eq!(count(&fx).await, 0, "nothing was saved");
    assert_eq!(audit_count(&fx).await, before, "nothing was audited");

    let wrong = db.application_status(&"0".repeat(64)).await;
    assert!(matches!(wrong, Err(Error::NotFound(_))), "{wrong:?}");
}

async fn duplicates_are_flagged(fx: Fixture) {
    let db = &fx.db;
    let org = &fx.organiser;
    let first = form(&fx, "Кузнецова Алёна", "alena@example.org");
    let first = db.submit_application(&first, vec![]).await.unwrap();
    let same_person = form(&fx, "  кузнецова   АЛЕНА ", "other@example.org");
    let same_person = db.submit_application(&same_person, vec![]).await.unwrap();
    let same_email = form(&fx, "Другое Имя", "ALENA@example.org");
    let same_email = db.submit_application(&same_email, vec![]).await.unwrap();
    let other = form(&fx, "Кузнецова Алёна Сергеевна", "x@example.org");
    let other = db.submit_application(&other, vec![]).await.unwrap();

    for id in [&same_person.id, &same_email.id] {
        let stored = db.application(org, id).await.unwrap();
        assert_eq!(stored.duplicate_of.as_ref(), Some(&first.id));
    }
    assert_eq!(
        db.application(org, &other.id).await.unwrap().duplicate_of,
        None
    );

    let search = ApplicationFilter {
        name: Some("КУЗНЕЦОВА алена".into()),
        nomination_id: Some(fx.nomination.id.clone()),
        ..ApplicationFilter::default()
    };
    let found = db.applications(org, &search, Page::new(None, Some(2)).unwrap());
    let found = found.await.unwrap();
    assert_eq!(found.items.len(), 2);
    assert_eq!(found.next_offset, Some(2));
    let percent = ApplicationFilter {
        name: Some("%".into()),
        ..ApplicationFilter::default()
    };
    let none = db.applications(org, &percent, Page::new(None, None).unwrap());
    assert!(
        none.await.unwrap().items.is_empty(),
        "% is matched literally"
    );
}

async fn only_organisers_review(fx: Fixture) {
    let db = &fx.db;
    let sent = form(&fx, "Орлов Олег", "o@example.org");
    let sent = db.submit_application(&sent, vec![file(PNG)]).await.unwrap();
    for role in [
        Role::Participant,
        Role::Expert,
        Role::CommissionMember,
        Role::Support,
    ] {
        let stage_id = (role == Role::CommissionMember).then(|| fx.nomination.stage_id.clone());
        let person = NewPerson {
            role: Some(role),
            full_name: "Кто-то".into(),
            stage_id,
            ..NewPerson::default()
        };
        let person = db.create_person(&fx.organiser, &person).await.unwrap();
        let actor = Actor {
            person: Some(person.id),
            role,
            session: None,
        };
        let before = audit_count(&fx).await;
        let read = db.application(&actor, &sent.id).await;
        assert!(matches!(read, Err(Error::Forbidden)), "{role:?}");
        let files = db.attachments(&actor, &sent.id).await;
        assert!(matches!(files, Err(Error::Forbidden)), "{role:?}");
        let ids = [sent.id.clone()];
        let change = db.transition_applications(&actor, &ids, &Transition::Register);
        assert!(matches!(change.await, Err(Error::Forbidden)), "{role:?}");
        assert_eq!(audit_count(&fx).await, before);
    }
}

async fn form_shows_stage_and_consent(fx: Fixture) {
    let nomination = &fx.nomination;
    let form = fx
        .db
        .application_form(&nomination.stage_id, &nomination.id)
        .await
        .unwrap();
    assert_eq!(form.contest_name, "Лучший по профессии 2027");
    assert_eq!(form.region, "Тверская область");
    assert_eq!(form.profession, "Сварщик");
    assert_eq!(form.starts_at, 1_800_000_000_000);
    assert_eq!(form.consent.version, "2027-01");

    let other_stage = StageId::generate();
    let wrong = fx.db.application_form(&other_stage, &nomination.id).await;
    assert!(matches!(wrong, Err(Error::NotFound(_))), "{wrong:?}");
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread")]
                async fn $name() {
                    let folder = tempfile::tempdir().unwrap();
                    super::$name(fixture(sqlite_url(folder.path())).await).await;
                }
            )*
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn every_scenario_on_postgres() {
            let server = PostgresServer::start();
            $(
                eprintln!("postgres: {}", stringify!($name));
                $name(fixture(server.create_database().await).await).await;
            )*
        }
    };
}

scenarios!(
    workflow_end_to_end,
    rejection_needs_reason_and_bulk_is_all_or_nothing,
    bad_input_saves_nothing,
    duplicates_are_flagged,
    only_organisers_review,
    form_shows_stage_and_consent,
);
