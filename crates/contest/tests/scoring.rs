//! Scoring against real SQLite and PostgreSQL: sheets, locking and reopening, the summary
//! sheet, protocols and their approval with one-time codes.

use profstage_contest::scoring::arithmetic::Aggregation;
use profstage_contest::scoring::{
    CodeChannel, CriterionMove, MarkInput, MarkValue, PartScore, SummaryRow,
};
use profstage_contest::testing::{sqlite_url, PostgresServer};
use profstage_contest::{
    Actor, AuditFilter, Criterion, CriterionKind, Database, Error, ExpertGroupId, NewContest,
    NewCriterion, NewExpertGroup, NewInvite, NewNomination, NewPerson, NewRoom, NewScoringRule,
    NewStage, NewStagePart, Page, PartKind, PersonId, ProtocolId, ProtocolKind, Role, SheetInput,
    StageId, StagePartId,
};

const PASSWORD: &str = "correct horse battery staple";

/// A nomination with a theory and a practice part, three experts (the first chairs), two
/// participants in both parts and a commission member of the stage's region.
struct World {
    db: Database,
    url: String,
    organiser: Actor,
    experts: Vec<Actor>,
    commission: Actor,
    outsider_commission: Actor,
    participants: Vec<PersonId>,
    theory: StagePartId,
    practice: StagePartId,
    theory_criteria: Vec<Criterion>,
    practice_criteria: Vec<Criterion>,
    group: ExpertGroupId,
}

async fn signed_in(
    db: &Database,
    organiser: &Actor,
    role: Role,
    name: &str,
    region: &str,
    stage: Option<&StageId>,
) -> (PersonId, Actor) {
    let new = NewPerson {
        role: Some(role),
        full_name: name.to_owned(),
        region: Some(region.to_owned()),
        stage_id: stage.cloned(),
        ..NewPerson::default()
    };
    let person = db.create_person(organiser, &new).await.unwrap();
    let link = db
        .create_invite(organiser, &person.id, &NewInvite::default())
        .await
        .unwrap();
    let session = db.accept_invite(&link.token).await.unwrap();
    (person.id, session.info.actor())
}

async fn criterion(
    db: &Database,
    actor: &Actor,
    part: &StagePartId,
    name: &str,
    max: i64,
    kind: CriterionKind,
) -> Criterion {
    let new = NewCriterion {
        name: name.to_owned(),
        description: String::new(),
        max_points: Some(max),
        kind: Some(kind),
    };
    db.create_criterion(actor, part, &new).await.unwrap()
}

async fn world(url: String) -> World {
    let db = Database::connect(&url).await.unwrap();
    db.create_organiser("chief", "Главный Организатор", PASSWORD)
        .await
        .unwrap();
    let organiser = db.sign_in("chief", PASSWORD).await.unwrap().info.actor();
    let region = "Тверская область";
    let contest = NewContest {
        name: "Лучший по профессии 2027".into(),
        description: String::new(),
        recording_retention_days: None,
    };
    let contest = db.create_contest(&organiser, &contest).await.unwrap();
    let stage = NewStage {
        region: region.into(),
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
    let mut parts = Vec::new();
    for (kind, title) in [
        (PartKind::Theory, "Теория"),
        (PartKind::Practice, "Практика"),
    ] {
        let new = NewStagePart {
            kind: Some(kind),
            title: title.into(),
        };
        parts.push(
            db.create_stage_part(&organiser, &nomination.id, &new)
                .await
                .unwrap(),
        );
    }
    let (theory, practice) = (parts[0].id.clone(), parts[1].id.clone());
    let theory_criteria =
        vec![criterion(&db, &organiser, &theory, "Тест", 20, CriterionKind::Points).await];
    let practice_criteria = vec![
        criterion(
            &db,
            &organiser,
            &practice,
            "Качество шва",
            10,
            CriterionKind::Points,
        )
        .await,
        criterion(
            &db,
            &organiser,
            &practice,
            "Соблюдение ТБ",
            5,
            CriterionKind::YesNo,
        )
        .await,
    ];

    let mut experts = Vec::new();
    let mut expert_ids = Vec::new();
    for name in ["Эксперт Первый", "Эксперт Второй", "Эксперт Третий"]
    {
        let (id, actor) = signed_in(&db, &organiser, Role::Expert, name, region, None).await;
        expert_ids.push(id);
        experts.push(actor);
    }
    let group = NewExpertGroup {
        name: "Группа сварщиков".into(),
        chair_id: Some(expert_ids[0].clone()),
        member_ids: expert_ids.clone(),
    };
    let group = db
        .create_expert_group(&organiser, &nomination.id, &group)
        .await
        .unwrap();

    let mut participants = Vec::new();
    for name in ["Иванов Иван", "Петров Пётр"] {
        let new = NewPerson {
            role: Some(Role::Participant),
            full_name: name.into(),
            ..NewPerson::default()
        };
        participants.push(db.create_person(&organiser, &new).await.unwrap().id);
    }
    for part in &parts {
        let room = NewRoom {
            title: format!("Комната {}", part.title),
        };
        let room = db.create_room(&organiser, &part.id, &room).await.unwrap();
        for participant in &participants {
            db.assign(&organiser, &room.id, participant).await.unwrap();
        }
    }
    let (_, commission) = signed_in(
        &db,
        &organiser,
        Role::CommissionMember,
        "Член Комиссии",
        region,
        Some(&stage.id),
    )
    .await;
    // The same region, but another stage: the stage, not the region, decides.
    let other_stage = NewStage {
        region: region.into(),
        starts_at: Some(1_900_000_000_000),
        ends_at: Some(1_900_086_400_000),
    };
    let other_stage = db
        .create_stage(&organiser, &contest.id, &other_stage)
        .await
        .unwrap();
    let (_, outsider_commission) = signed_in(
        &db,
        &organiser,
        Role::CommissionMember,
        "Чужой Член",
        region,
        Some(&other_stage.id),
    )
    .await;
    World {
        db,
        url,
        organiser,
        experts,
        commission,
        outsider_commission,
        participants,
        theory,
        practice,
        theory_criteria,
        practice_criteria,
        group: group.id,
    }
}

fn mark(criterion: &Criterion, value: MarkValue) -> MarkInput {
    MarkInput {
        criterion_id: criterion.id.clone(),
        value: Some(value),
    }
}

fn marks(values: Vec<MarkInput>) -> SheetInput {
    SheetInput {
        marks: values,
        comment: None,
    }
}

/// Fills and locks every sheet: expert `e` gives participant `p` theory `theory[e][p]`,
/// weld quality `weld[e][p]` and safety yes for everyone but expert 2 on participant 1.
async fn fill_all(w: &World, theory: [[i64; 2]; 3], weld: [[i64; 2]; 3]) {
    for (e, expert) in w.experts.iter().enumerate() {
        for (p, participant) in w.participants.iter().enumerate() {
            let input = marks(vec![mark(
                &w.theory_criteria[0],
                MarkValue::Points(theory[e][p]),
            )]);
            let sheet =
                w.db.save_sheet(expert, &w.theory, participant, &input)
                    .await
                    .unwrap();
            w.db.lock_sheet(expert, &sheet.id).await.unwrap();
            let safe = !(e == 2 && p == 1);
            let input = marks(vec![
                mark(&w.practice_criteria[0], MarkValue::Points(weld[e][p])),
                mark(&w.practice_criteria[1], MarkValue::YesNo(safe)),
            ]);
            let sheet =
                w.db.save_sheet(expert, &w.practice, participant, &input)
                    .await
                    .unwrap();
            w.db.lock_sheet(expert, &sheet.id).await.unwrap();
        }
    }
}

fn assert_invalid(result: Result<impl std::fmt::Debug, Error>, field: &str) {
    match result {
        Err(Error::Invalid(fields)) => {
            assert!(
                fields.iter().any(|f| f.field == field),
                "{fields:?} names {field}"
            )
        }
        other => panic!("expected an invalid {field}, got {other:?}"),
    }
}

async fn sheets_validate_and_save_partially(w: World) {
    let expert = &w.experts[1];
    let participant = &w.participants[0];
    let weld = &w.practice_criteria[0];
    let safety = &w.practice_criteria[1];
    let cases = [
        (mark(weld, MarkValue::Points(11)), "marks[0]"),
        (mark(weld, MarkValue::Points(-1)), "marks[0]"),
        (mark(weld, MarkValue::YesNo(true)), "marks[0]"),
        (mark(safety, MarkValue::Points(5)), "marks[0]"),
        (
            mark(&w.theory_criteria[0], MarkValue::Points(1)),
            "marks[0]",
        ),
    ];
    for (input, field) in cases {
        let result =
            w.db.save_sheet(expert, &w.practice, participant, &marks(vec![input]))
                .await;
        assert_invalid(result, field);
    }
    let none =
        w.db.my_sheet(expert, &w.practice, participant)
            .await
            .unwrap();
    assert!(none.is_none(), "an invalid save creates no sheet");

    let first = marks(vec![mark(weld, MarkValue::Points(7))]);
    let sheet =
        w.db.save_sheet(expert, &w.practice, participant, &first)
            .await
            .unwrap();
    assert_eq!(sheet.marks.len(), 1);
    let again =
        w.db.save_sheet(expert, &w.practice, participant, &first)
            .await
            .unwrap();
    assert_eq!(again.id, sheet.id, "saving again keeps one sheet");
    assert_eq!(again.marks, sheet.marks);

    let locked = w.db.lock_sheet(expert, &sheet.id).await;
    assert_invalid(locked, &format!("marks.{}", safety.id));

    let comment = SheetInput {
        marks: vec![mark(safety, MarkValue::YesNo(true))],
        comment: Some("Аккуратный шов".into()),
    };
    let sheet =
        w.db.save_sheet(expert, &w.practice, participant, &comment)
            .await
            .unwrap();
    assert_eq!(sheet.marks[1].points, 5, "yes counts as the maximum");
    assert_eq!(sheet.comment, "Аккуратный шов");
    assert_eq!(sheet.marks[0].points, 7, "earlier marks stay");

    let cleared = SheetInput {
        marks: vec![MarkInput {
            criterion_id: weld.id.clone(),
            value: None,
        }],
        comment: None,
    };
    let sheet =
        w.db.save_sheet(expert, &w.practice, participant, &cleared)
            .await
            .unwrap();
    assert_eq!(sheet.marks.len(), 1, "null removes a mark");

    let stranger =
        w.db.save_sheet(&w.commission, &w.practice, participant, &first)
            .await;
    assert!(matches!(stranger, Err(Error::Forbidden)), "{stranger:?}");
    let organiser =
        w.db.save_sheet(&w.organiser, &w.practice, participant, &first)
            .await;
    assert!(
        matches!(organiser, Err(Error::Forbidden)),
        "organisers assess nobody"
    );
    let expert_id = w.experts[0].person.clone().unwrap();
    let not_participant =
        w.db.save_sheet(expert, &w.practice, &expert_id, &first)
            .await;
    assert!(
        matches!(not_participant, Err(Error::NotFound(_))),
        "{not_participant:?}"
    );
}

async fn lock_and_reopen_rules(w: World) {
    let (chair, member) = (&w.experts[0], &w.experts[1]);
    let participant = &w.participants[0];
    let input = marks(vec![mark(&w.theory_criteria[0], MarkValue::Points(15))]);
    let sheet =
        w.db.save_sheet(member, &w.theory, participant, &input)
            .await
            .unwrap();
    let other = w.db.lock_sheet(chair, &sheet.id).await;
    assert!(
        matches!(other, Err(Error::Forbidden)),
        "only its expert locks a sheet"
    );
    let locked = w.db.lock_sheet(member, &sheet.id).await.unwrap();
    assert!(locked.locked_at.is_some());

    let edit =
        w.db.save_sheet(member, &w.theory, participant, &input)
            .await;
    assert!(
        matches!(edit, Err(Error::Conflict { .. })),
        "a locked sheet is read-only: {edit:?}"
    );

    let by_member = w.db.reopen_sheet(member, &sheet.id, "ошибка").await;
    assert!(matches!(by_member, Err(Error::Forbidden)), "{by_member:?}");
    let by_organiser = w.db.reopen_sheet(&w.organiser, &sheet.id, "ошибка").await;
    assert!(
        matches!(by_organiser, Err(Error::Forbidden)),
        "{by_organiser:?}"
    );
    assert_invalid(w.db.reopen_sheet(chair, &sheet.id, "   ").await, "reason");

    let reopened =
        w.db.reopen_sheet(chair, &sheet.id, "Опечатка в балле")
            .await
            .unwrap();
    assert!(reopened.locked_at.is_none());
    let filter = AuditFilter {
        target_id: Some(sheet.id.to_string()),
        actor_id: None,
    };
    let log =
        w.db.audit_log(&w.organiser, &filter, Page::new(None, None).unwrap())
            .await
            .unwrap();
    assert_eq!(log.items[0].action, "sheet.reopen");
    assert!(log.items[0].detail.contains("Опечатка в балле"));
    assert_eq!(
        log.items[0].actor_id,
        Some(chair.person.clone().unwrap().to_string())
    );

    let changed = marks(vec![mark(&w.theory_criteria[0], MarkValue::Points(16))]);
    let sheet =
        w.db.save_sheet(member, &w.theory, participant, &changed)
            .await
            .unwrap();
    assert_eq!(
        sheet.marks[0].points, 16,
        "the expert edits a reopened sheet"
    );
    let twice = w.db.reopen_sheet(chair, &sheet.id, "ещё раз").await;
    assert!(
        matches!(twice, Err(Error::Conflict { .. })),
        "an open sheet is not reopened"
    );
}

/// Returns the scores of `row` in the stage part `id`. Parts created in the same millisecond
/// have no defined order, so tests find them by id.
fn part<'a>(row: &'a SummaryRow, id: &StagePartId) -> &'a PartScore {
    let found = row.parts.iter().find(|score| &score.part_id == id);
    found.unwrap_or_else(|| panic!("no scores of part {id:?}"))
}

async fn summary_counts_locked_sheets_only(w: World) {
    let rule = NewScoringRule {
        aggregation: Some(Aggregation::TrimmedMean),
        theory_weight: Some(50),
        practice_weight: Some(100),
    };
    let stage = w.db.summary(&w.organiser, &w.group).await.unwrap().stage_id;
    w.db.set_scoring_rule(&w.organiser, &stage, &rule)
        .await
        .unwrap();
    let before = w.db.summary(&w.experts[2], &w.group).await.unwrap();
    assert!(!before.complete);
    assert_eq!(before.expected_sheets, 12);
    assert_eq!(
        before.rows[0].total, None,
        "nothing locked is missing, not zero"
    );
    assert_eq!(part(&before.rows[0], &w.theory).criteria, vec![None]);

    // Theory: trimmed mean of three marks is the middle one. Practice weld: 8, 9, 10 and
    // 6, 6, 10; safety: yes, yes, yes and yes, yes, no.
    fill_all(
        &w,
        [[12, 18], [14, 16], [20, 10]],
        [[8, 6], [9, 6], [10, 10]],
    )
    .await;
    let summary = w.db.summary(&w.commission, &w.group).await.unwrap();
    assert!(summary.complete);
    assert_eq!(summary.locked_sheets, 12);
    let ivanov = &summary.rows[0];
    let petrov = &summary.rows[1];
    assert_eq!(ivanov.full_name, "Иванов Иван");
    assert_eq!(part(ivanov, &w.theory).criteria, vec![Some(1400)]);
    assert_eq!(
        part(ivanov, &w.practice).criteria,
        vec![Some(900), Some(500)]
    );
    assert_eq!(part(ivanov, &w.practice).total, Some(1400));
    assert_eq!(ivanov.total, Some(700 + 1400), "theory counts half");
    assert_eq!(part(petrov, &w.theory).criteria, vec![Some(1600)]);
    assert_eq!(
        part(petrov, &w.practice).criteria,
        vec![Some(600), Some(500)]
    );
    assert_eq!(petrov.total, Some(800 + 1100));
    assert_eq!((ivanov.rank, petrov.rank), (Some(1), Some(2)));
    assert!(!ivanov.tied && !petrov.tied);

    let outsider = w.db.summary(&w.outsider_commission, &w.group).await;
    assert!(
        matches!(outsider, Err(Error::Forbidden)),
        "another stage's commission member reads no summary: {outsider:?}"
    );
}

async fn summary_flags_ties(w: World) {
    fill_all(&w, [[10, 10], [10, 10], [10, 10]], [[5, 5], [5, 5], [5, 5]]).await;
    let summary = w.db.summary(&w.organiser, &w.group).await.unwrap();
    // Mean by default: participant 2 loses a third of the safety points to one "no".
    assert_eq!(part(&summary.rows[1], &w.practice).criteria[1], Some(333));
    let rule = NewScoringRule {
        aggregation: Some(Aggregation::Median),
        ..NewScoringRule::default()
    };
    w.db.set_scoring_rule(&w.organiser, &summary.stage_id, &rule)
        .await
        .unwrap();
    let summary = w.db.summary(&w.organiser, &w.group).await.unwrap();
    let places: Vec<_> = summary
        .rows
        .iter()
        .map(|r| (r.total, r.rank, r.tied))
        .collect();
    assert_eq!(
        places,
        [(Some(2000), Some(1), true), (Some(2000), Some(1), true)]
    );
}

async fn protocol_needs_every_sheet_locked(w: World) {
    let chair = &w.experts[0];
    let refused = w.db.generate_protocol(chair, &w.group).await;
    match refused {
        Err(Error::Conflict { message, .. }) => assert!(message.contains("0 of 12"), "{message}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    fill_all(&w, [[10, 10], [10, 10], [10, 10]], [[5, 5], [5, 5], [5, 5]]).await;
    let member = w.db.generate_protocol(&w.experts[1], &w.group).await;
    assert!(
        matches!(member, Err(Error::Forbidden)),
        "only the chair generates"
    );
    let protocol = w.db.generate_protocol(chair, &w.group).await.unwrap();
    assert_eq!(protocol.kind, ProtocolKind::ExpertGroup);
    assert_eq!(protocol.content_hash.len(), 64);
    assert!(protocol.content.contains("Иванов Иван"));
    assert!(protocol.current);
    assert_eq!(protocol.approvals.len(), 3);
    let again = w.db.generate_protocol(chair, &w.group).await.unwrap();
    assert_eq!(again.id, protocol.id);
    assert_eq!(
        again.content_hash, protocol.content_hash,
        "same sheets, same hash"
    );
}

async fn expire_codes(url: &str) {
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("UPDATE approval_codes SET expires_at = 0")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

async fn approvals_use_one_time_codes(w: World) {
    fill_all(&w, [[10, 10], [10, 10], [10, 10]], [[5, 5], [5, 5], [5, 5]]).await;
    let chair = &w.experts[0];
    let protocol = w.db.generate_protocol(chair, &w.group).await.unwrap();
    let id = &protocol.id;

    let outsider =
        w.db.issue_approval_code(&w.commission, id, CodeChannel::Operator)
            .await;
    assert!(
        matches!(outsider, Err(Error::Forbidden)),
        "only members approve"
    );
    let no_code = w.db.approve_protocol(chair, id, "123456").await;
    assert_invalid(no_code, "code");

    let issued =
        w.db.issue_approval_code(chair, id, CodeChannel::Operator)
            .await
            .unwrap();
    assert_eq!(issued.code.len(), 6);
    let wrong = if issued.code == "000000" {
        "000001"
    } else {
        "000000"
    };
    assert_invalid(w.db.approve_protocol(chair, id, wrong).await, "code");
    assert_invalid(w.db.approve_protocol(chair, id, "12ab56").await, "code");
    let approved =
        w.db.approve_protocol(chair, id, &issued.code)
            .await
            .unwrap();
    let mine = &approved
        .approvals
        .iter()
        .find(|a| Some(&a.person_id) == chair.person.as_ref())
        .unwrap();
    assert!(mine.approved_at.is_some());
    assert_eq!(mine.session_id, chair.session);
    assert_eq!(
        mine.content_hash.as_deref(),
        Some(protocol.content_hash.as_str())
    );
    assert_invalid(w.db.approve_protocol(chair, id, &issued.code).await, "code");

    let expiring =
        w.db.issue_approval_code(&w.experts[1], id, CodeChannel::Operator)
            .await
            .unwrap();
    expire_codes(&w.url).await;
    assert_invalid(
        w.db.approve_protocol(&w.experts[1], id, &expiring.code)
            .await,
        "code",
    );

    let guessed =
        w.db.issue_approval_code(&w.experts[1], id, CodeChannel::Operator)
            .await
            .unwrap();
    let wrong = if guessed.code == "000000" {
        "000001"
    } else {
        "000000"
    };
    for _ in 0..5 {
        assert_invalid(
            w.db.approve_protocol(&w.experts[1], id, wrong).await,
            "code",
        );
    }
    let void =
        w.db.approve_protocol(&w.experts[1], id, &guessed.code)
            .await;
    assert_invalid(void, "code");

    let early = w.db.hand_over_protocol(chair, id).await;
    assert!(
        matches!(early, Err(Error::Conflict { .. })),
        "two members have not approved"
    );
}

async fn set_email(url: &str, actor: &Actor, email: &str) {
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    sqlx::query("UPDATE people SET email = $1 WHERE id = $2")
        .bind(email)
        .bind(actor.person.as_ref().unwrap().as_str())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

async fn emailed_codes_need_address(w: World) {
    fill_all(&w, [[10, 10], [10, 10], [10, 10]], [[5, 5], [5, 5], [5, 5]]).await;
    let chair = &w.experts[0];
    let protocol = w.db.generate_protocol(chair, &w.group).await.unwrap();
    let id = &protocol.id;

    let missing =
        w.db.issue_approval_code(chair, id, CodeChannel::Email)
            .await;
    match missing {
        Err(Error::Conflict { code, .. }) => assert_eq!(code, "no_email_address"),
        other => panic!("expected no_email_address, got {other:?}"),
    }
    let operator = w.db.issue_approval_code(chair, id, CodeChannel::Operator);
    assert_eq!(operator.await.unwrap().email, None);

    set_email(&w.url, chair, "smirnova@example.org").await;
    let first = w.db.issue_approval_code(chair, id, CodeChannel::Email);
    let first = first.await.unwrap();
    assert_eq!(first.email.as_deref(), Some("smirnova@example.org"));
    let debug = format!("{first:?}");
    assert!(!debug.contains(&first.code), "{debug}");
    assert!(!debug.contains("smirnova"), "{debug}");

    // A code that was never delivered is withdrawn, and the earlier one counts again.
    let undelivered = w.db.issue_approval_code(chair, id, CodeChannel::Email);
    let undelivered = undelivered.await.unwrap();
    assert!(w
        .db
        .withdraw_approval_code(chair, &undelivered)
        .await
        .unwrap());
    assert!(!w
        .db
        .withdraw_approval_code(chair, &undelivered)
        .await
        .unwrap());
    if undelivered.code != first.code {
        let withdrawn = w.db.approve_protocol(chair, id, &undelivered.code).await;
        assert_invalid(withdrawn, "code");
    }
    let approved = w.db.approve_protocol(chair, id, &first.code).await;
    assert!(approved.is_ok(), "{approved:?}");
}

async fn change_voids_earlier_approvals(w: World) {
    fill_all(&w, [[10, 10], [10, 10], [10, 10]], [[5, 5], [5, 5], [5, 5]]).await;
    let chair = &w.experts[0];
    let protocol = w.db.generate_protocol(chair, &w.group).await.unwrap();
    approve_by_all(&w, &protocol.id).await;
    assert!(
        w.db.protocol(&w.organiser, &protocol.id)
            .await
            .unwrap()
            .approved
    );

    // The chair reopens a sheet and its expert changes a mark.
    let member = &w.experts[1];
    let participant = &w.participants[0];
    let sheet =
        w.db.my_sheet(member, &w.theory, participant)
            .await
            .unwrap()
            .unwrap();
    w.db.reopen_sheet(chair, &sheet.id, "Пересчёт")
        .await
        .unwrap();
    let stale = w.db.protocol(&w.organiser, &protocol.id).await.unwrap();
    assert!(
        !stale.current,
        "an open sheet makes the protocol out of date"
    );
    let handed = w.db.hand_over_protocol(chair, &protocol.id).await;
    assert!(matches!(handed, Err(Error::Conflict { .. })), "{handed:?}");
    let changed = marks(vec![mark(&w.theory_criteria[0], MarkValue::Points(19))]);
    let sheet =
        w.db.save_sheet(member, &w.theory, participant, &changed)
            .await
            .unwrap();
    w.db.lock_sheet(member, &sheet.id).await.unwrap();
    let code =
        w.db.issue_approval_code(member, &protocol.id, CodeChannel::Operator)
            .await;
    assert!(
        matches!(code, Err(Error::Conflict { .. })),
        "no approval of stale content"
    );

    let regenerated = w.db.generate_protocol(chair, &w.group).await.unwrap();
    assert_eq!(regenerated.id, protocol.id);
    assert_ne!(regenerated.content_hash, protocol.content_hash);
    assert!(!regenerated.approved, "earlier approvals no longer count");
    assert!(regenerated
        .approvals
        .iter()
        .all(|a| a.approved_at.is_none()));

    approve_by_all(&w, &protocol.id).await;
    let member_hands = w.db.hand_over_protocol(member, &protocol.id).await;
    assert!(matches!(member_hands, Err(Error::Forbidden)));
    let commission = w.db.hand_over_protocol(chair, &protocol.id).await.unwrap();
    assert_eq!(commission.kind, ProtocolKind::Commission);
    assert!(commission.content.contains(&regenerated.content_hash));
    assert_eq!(
        commission.approvals.len(),
        1,
        "one commission member of the stage"
    );

    let reopen = w.db.reopen_sheet(chair, &sheet.id, "поздно").await;
    assert!(
        matches!(reopen, Err(Error::Conflict { .. })),
        "handed-over results are frozen"
    );
    let outsider =
        w.db.issue_approval_code(
            &w.outsider_commission,
            &commission.id,
            CodeChannel::Operator,
        )
        .await;
    assert!(
        matches!(outsider, Err(Error::Forbidden)),
        "another stage's member approves nothing"
    );
    let read = w.db.protocol(&w.outsider_commission, &commission.id).await;
    assert!(
        matches!(read, Err(Error::Forbidden)),
        "another stage's member reads nothing: {read:?}"
    );
    let listed = w.db.protocols(&w.outsider_commission, &w.group).await;
    assert!(matches!(listed, Err(Error::Forbidden)), "{listed:?}");
    let own = w.db.protocol(&w.commission, &commission.id).await.unwrap();
    assert_eq!(own.approvals.len(), 1, "the stage's own member reads it");
    let issued =
        w.db.issue_approval_code(&w.commission, &commission.id, CodeChannel::Operator)
            .await
            .unwrap();
    let done =
        w.db.approve_protocol(&w.commission, &commission.id, &issued.code)
            .await
            .unwrap();
    assert!(done.approved);
    let list = w.db.protocols(&w.experts[2], &w.group).await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(list[0].handed_over_at.is_some());
}

/// Has every expert of the group approve the protocol with a one-time code.
async fn approve_by_all(w: &World, protocol: &ProtocolId) {
    for expert in &w.experts {
        let issued =
            w.db.issue_approval_code(expert, protocol, CodeChannel::Operator)
                .await
                .unwrap();
        w.db.approve_protocol(expert, protocol, &issued.code)
            .await
            .unwrap();
    }
}

/// Hands the group's protocol over after every expert approved it.
async fn hand_over(w: &World) {
    let chair = &w.experts[0];
    let protocol = w.db.generate_protocol(chair, &w.group).await.unwrap();
    approve_by_all(w, &protocol.id).await;
    w.db.hand_over_protocol(chair, &protocol.id).await.unwrap();
}

fn assert_frozen(result: Result<impl std::fmt::Debug, Error>, change: &str) {
    match result {
        Err(Error::Conflict { code, .. }) => assert_eq!(code, "criteria_handed_over", "{change}"),
        other => panic!("{change}: {other:?}"),
    }
}

async fn criteria_and_rule_freeze_after_hand_over(w: World) {
    fill_all(&w, [[10, 10], [10, 10], [10, 10]], [[5, 5], [5, 5], [5, 5]]).await;
    let first = &w.theory_criteria[0];
    let renamed = NewCriterion {
        name: "Знание ГОСТ".into(),
        description: "Переименован до передачи".into(),
        max_points: Some(first.max_points),
        kind: Some(first.kind),
    };
    w.db.update_criterion(&w.organiser, &first.id, &renamed)
        .await
        .expect("a rename before the hand-over");

    hand_over(&w).await;
    let added = NewCriterion {
        name: "Новый критерий".into(),
        description: String::new(),
        max_points: Some(5),
        kind: Some(CriterionKind::Points),
    };
    for part in [&w.theory, &w.practice] {
        let create = w.db.create_criterion(&w.organiser, part, &added).await;
        assert_frozen(create, "create");
    }
    let update = w.db.update_criterion(&w.organiser, &first.id, &added).await;
    assert_frozen(update, "update");
    let position = CriterionMove { position: Some(2) };
    let moved =
        w.db.move_criterion(&w.organiser, &first.id, &position)
            .await;
    assert_frozen(moved, "move");
    let deleted =
        w.db.delete_criterion(&w.organiser, &w.practice_criteria[0].id)
            .await;
    assert_frozen(deleted, "delete");

    let stage = w.db.summary(&w.organiser, &w.group).await.unwrap().stage_id;
    let rule = w.db.scoring_rule(&w.organiser, &stage).await.unwrap();
    let median = NewScoringRule {
        aggregation: Some(Aggregation::Median),
        ..NewScoringRule::default()
    };
    let changed = w.db.set_scoring_rule(&w.organiser, &stage, &median).await;
    match changed {
        Err(Error::Conflict { code, .. }) => assert_eq!(code, "rule_handed_over"),
        other => panic!("rule: {other:?}"),
    }
    let unchanged = w.db.scoring_rule(&w.organiser, &stage).await.unwrap();
    assert_eq!(unchanged, rule);

    let stored = w.db.criteria(&w.organiser, &w.theory).await.unwrap();
    assert_eq!(stored.len(), w.theory_criteria.len());
    assert_eq!(stored[0].name, "Знание ГОСТ");
}

macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            use super::*;
            $(
                #[tokio::test]
                async fn $name() {
                    let folder = tempfile::tempdir().unwrap();
                    super::$name(world(sqlite_url(folder.path())).await).await;
                }
            )*
        }

        #[tokio::test(flavor = "multi_thread")]
        async fn every_scenario_on_postgres() {
            let server = PostgresServer::start();
            $(
                eprintln!("postgres: {}", stringify!($name));
                $name(world(server.create_database().await).await).await;
            )*
        }
    };
}

scenarios!(
    sheets_validate_and_save_partially,
    lock_and_reopen_rules,
    summary_counts_locked_sheets_only,
    summary_flags_ties,
    protocol_needs_every_sheet_locked,
    approvals_use_one_time_codes,
    emailed_codes_need_address,
    change_voids_earlier_approvals,
    criteria_and_rule_freeze_after_hand_over,
);
