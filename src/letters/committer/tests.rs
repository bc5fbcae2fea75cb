//! The committer's batches against a SQLite store: keys seen before, a failing submission, the kept writer,
//! the answer to a new letter.

use super::*;
use crate::domain::recipient::RawRecipient;
use crate::domain::{EmailAddress, Recipient};

fn submission(id: &LetterId) -> Submission {
    let recipient = Recipient::parse(RawRecipient {
        kind: Some("professional".into()),
        company: Some("Boulangerie Martin".into()),
        last_name: Some("Martin".into()),
        email: Some("compta@boulangerie-martin.fr".into()),
        ..RawRecipient::default()
    })
    .expect("a valid recipient");
    let request = LetterRequest {
        sender: SenderId::try_from("default".to_owned()).unwrap(),
        template: std::sync::Arc::new(crate::render::shipped_letter_templates().remove(0)),
        variables: serde_json::Map::new(),
        recipient,
        reference: None,
        notify_email: Some(EmailAddress::parse("claire@exemple.fr").unwrap()),
        attachments: vec![],
        callback: None,
        request_sha256: "0".repeat(64),
        submitted_by: None,
        from_email: None,
    };
    Submission {
        id: id.clone(),
        request,
        api_key: None,
        idempotency_key: None,
        provider: "sandbox".into(),
        attachments: vec![],
    }
}

/// A batch takes its idempotency keys as new without reading them; when one was seen before, the batch runs
/// again in savepoints: the retry is answered with the letter made the first time, a reuse with another
/// request as a conflict, and the others are committed, each once.
#[tokio::test]
async fn a_key_seen_before_is_answered_from_its_first_letter_in_a_batch_of_new_ones() {
    let (dir, store) = store::temporary_sqlite().await;
    let mut turn = WriterTurn::default();
    let keyed = |id: &LetterId, key: &str, sha: char| {
        let mut s = submission(id);
        s.idempotency_key = Some(key.to_owned());
        s.request.request_sha256 = sha.to_string().repeat(64);
        s
    };
    let first = LetterId::generate();
    let (reply, answer) = oneshot::channel();
    commit_batch(&store, &mut turn, dir.path(), vec![Pending { submission: keyed(&first, "k-1", 'a'), reply }]).await;
    assert!(matches!(answer.await.unwrap().1, Ok(Written::New { .. })));

    let (retry, conflict, fresh) = (LetterId::generate(), LetterId::generate(), LetterId::generate());
    let (replies, answers): (Vec<_>, Vec<_>) = (0..3).map(|_| oneshot::channel()).unzip();
    let submissions = [keyed(&retry, "k-1", 'a'), keyed(&conflict, "k-1", 'b'), keyed(&fresh, "k-2", 'a')];
    let batch = submissions.into_iter().zip(replies).map(|(submission, reply)| Pending { submission, reply });
    commit_batch(&store, &mut turn, dir.path(), batch.collect()).await;
    let mut answers = answers.into_iter();
    assert!(matches!(answers.next().unwrap().await.unwrap().1, Ok(Written::Replayed(id)) if id == first));
    let conflicting = answers.next().unwrap().await.unwrap().1;
    assert!(matches!(conflicting, Err(SubmitError::IdempotencyConflict(id)) if id == first));
    assert!(matches!(answers.next().unwrap().await.unwrap().1, Ok(Written::New { .. })));
    assert!(store.letter(&retry).await.unwrap().is_none() && store.letter(&conflict).await.unwrap().is_none());
    assert_eq!(store.events(&fresh).await.unwrap().len(), 1, "the new letter is committed once");
}

/// A batch whose one submission fails in the database (its letter id is taken) is run again in
/// savepoints: that submission is answered with the failure, the others are committed. (On SQLite the failed
/// one-trip text is rolled back on the writer's one connection: the savepoints' transaction could not begin
/// inside it.)
#[tokio::test]
async fn a_submission_failing_in_the_database_fails_alone() {
    let (dir, store) = store::temporary_sqlite().await;
    let mut turn = WriterTurn::default();
    let taken = LetterId::generate();
    let (reply, answer) = oneshot::channel();
    commit_batch(&store, &mut turn, dir.path(), vec![Pending { submission: submission(&taken), reply }]).await;
    assert!(matches!(answer.await.unwrap().1, Ok(Written::New { .. })));

    let fresh = LetterId::generate();
    let (first, first_answer) = oneshot::channel();
    let (second, second_answer) = oneshot::channel();
    let batch = vec![
        Pending { submission: submission(&taken), reply: first },
        Pending { submission: submission(&fresh), reply: second },
    ];
    commit_batch(&store, &mut turn, dir.path(), batch).await;
    assert!(matches!(first_answer.await.unwrap().1, Err(SubmitError::Store(_))), "the taken id fails");
    assert!(matches!(second_answer.await.unwrap().1, Ok(Written::New { .. })), "the other is committed");
    assert!(store.letter(&fresh).await.unwrap().is_some());
    assert_eq!(store.events(&fresh).await.unwrap().len(), 1, "with its first event, once");
    assert_eq!(store.events(&taken).await.unwrap().len(), 1, "the first letter is untouched");
}

/// The committer keeps SQLite's one writer connection from one batch to the next while submissions wait.
/// A batch that must write through a transaction of the store (here: a letter with its own callback endpoint)
/// gives it back first, or it would wait for it forever; and the turn ends when nothing waits, so the
/// workers' writes go through.
#[tokio::test]
async fn a_kept_writer_is_given_back_before_a_batch_that_needs_a_transaction_and_when_nothing_waits() {
    let (dir, store) = store::temporary_sqlite().await;
    let mut turn = WriterTurn::default();
    let commit = |turn: &mut WriterTurn, submission: Submission| {
        let (reply, answer) = oneshot::channel();
        let batch = vec![Pending { submission, reply }];
        let store = store.clone();
        let dir = dir.path().to_owned();
        let mut taken = std::mem::take(turn);
        async move {
            let within = tokio::time::timeout(std::time::Duration::from_secs(10), async {
                commit_batch(&store, &mut taken, &dir, batch).await;
                answer.await.unwrap().1
            });
            (within.await.expect("the batch does not wait for the kept writer"), taken)
        }
    };
    let (answer, kept) = commit(&mut turn, submission(&LetterId::generate())).await;
    assert!(matches!(answer, Ok(Written::New { .. })));
    turn = kept;
    turn.end_unless(true);
    assert!(turn.is_held(), "kept while submissions wait");

    let mut with_callback = submission(&LetterId::generate());
    let url = "https://erp.example.fr/hooks/relais".parse().unwrap();
    with_callback.request.callback =
        Some(crate::letters::request::LetterCallback { url, secret: crate::config::Secret::new("s".repeat(32)) });
    let (answer, kept) = commit(&mut turn, with_callback).await;
    assert!(matches!(answer, Ok(Written::New { .. })), "{answer:?}");
    turn = kept;

    let (answer, kept) = commit(&mut turn, submission(&LetterId::generate())).await;
    assert!(matches!(answer, Ok(Written::New { .. })));
    turn = kept;
    turn.end_unless(false);
    assert!(!turn.is_held(), "given back when nothing waits");
    let tx = tokio::time::timeout(std::time::Duration::from_secs(10), store.begin()).await;
    tx.expect("the writer is free for the workers").unwrap().commit().await.unwrap();
}

/// The answer to a new letter is made from the submission handed back, not read from the database: it is
/// the letter as it was written.
#[tokio::test]
async fn the_answer_to_a_new_letter_is_the_letter_as_stored() {
    let (dir, store) = store::temporary_sqlite().await;
    let committer = Committer::start(store.clone(), dir.path().to_owned());
    let id = LetterId::generate();
    let mut keyed = submission(&id);
    keyed.idempotency_key = Some("k-1".into());
    keyed.api_key = Some(ApiKeyId::generate());
    let Ok(Submitted::Created(answered)) = committer.commit(keyed).await else { panic!("a new letter") };
    let stored = store.letter(&id).await.unwrap().expect("committed");
    assert_eq!(format!("{answered:?}"), format!("{stored:?}"));
}
