//! Storage of briefing events behind [`BriefingStore`]: for now one JSON Lines file per
//! room under `<data>/briefings/`.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::events::{BriefingEvent, BriefingRecord, EventSender};

/// Failure of a briefing store.
#[derive(Debug, thiserror::Error)]
#[error("briefing store {path}: {source}")]
pub struct StoreError {
    path: PathBuf,
    source: io::Error,
}

/// Durable storage of briefing events.
pub trait BriefingStore: Send + Sync + 'static {
    /// Appends one event. It may be lost in a power failure until [`BriefingStore::sync`].
    fn append(&self, record: &BriefingRecord) -> Result<(), StoreError>;
    /// Makes every event of `room` appended so far durable.
    fn sync(&self, room: &str) -> Result<(), StoreError>;
    /// Syncs `room` and releases what the store holds open for it.
    fn close(&self, room: &str) -> Result<(), StoreError>;
    /// Returns every event of `room`, oldest first; none for a room never stored.
    fn records(&self, room: &str) -> Result<Vec<BriefingRecord>, StoreError>;
}

/// One append-only JSON Lines file per room: `<folder>/<room>.jsonl`. Room identifiers are
/// checked by the configuration (`a-z`, `0-9`, `_`, `-`), so they are safe file names.
#[derive(Debug)]
pub struct JsonlStore {
    folder: PathBuf,
    open: Mutex<HashMap<String, File>>,
}

impl JsonlStore {
    /// Creates a store in `folder`, which is created on the first append.
    pub fn new(folder: PathBuf) -> Self {
        Self {
            folder,
            open: Mutex::new(HashMap::new()),
        }
    }

    /// Returns the file of `room`.
    pub fn path(&self, room: &str) -> PathBuf {
        self.folder.join(format!("{room}.jsonl"))
    }

    fn error(&self, room: &str) -> impl Fn(io::Error) -> StoreError {
        let path = self.path(room);
        move |source| StoreError {
            path: path.clone(),
            source,
        }
    }

    fn files(&self) -> std::sync::MutexGuard<'_, HashMap<String, File>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn open_append(path: &Path) -> io::Result<File> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

impl BriefingStore for JsonlStore {
    fn append(&self, record: &BriefingRecord) -> Result<(), StoreError> {
        let error = self.error(&record.room);
        let mut line = serde_json::to_vec(record).map_err(|e| error(e.into()))?;
        line.push(b'\n');
        let mut files = self.files();
        let file = match files.entry(record.room.clone()) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                entry.insert(open_append(&self.path(&record.room)).map_err(&error)?)
            }
        };
        // One write per line, so that a crash of the process leaves whole lines behind.
        file.write_all(&line).map_err(error)
    }

    fn sync(&self, room: &str) -> Result<(), StoreError> {
        let files = self.files();
        match files.get(room) {
            Some(file) => file.sync_data().map_err(self.error(room)),
            None => Ok(()),
        }
    }

    fn close(&self, room: &str) -> Result<(), StoreError> {
        let file = self.files().remove(room);
        match file {
            Some(file) => file.sync_data().map_err(self.error(room)),
            None => Ok(()),
        }
    }

    fn records(&self, room: &str) -> Result<Vec<BriefingRecord>, StoreError> {
        let error = self.error(room);
        let file = match File::open(self.path(room)) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(error(e)),
        };
        let mut records = Vec::new();
        for line in BufReader::new(file).lines() {
            let line = line.map_err(&error)?;
            // A torn last line after a crash is skipped; every whole line parses.
            if let Ok(record) = serde_json::from_str(&line) {
                records.push(record);
            }
        }
        Ok(records)
    }
}

/// Starts the task that takes events off the queue and appends them to `store`, syncing
/// after every leave and close. The task ends when every [`EventSender`] is dropped, after
/// closing every room it wrote to.
pub fn spawn_writer(store: Arc<dyn BriefingStore>) -> (EventSender, JoinHandle<()>) {
    let (sender, receiver) = EventSender::channel();
    let task = tokio::task::spawn_blocking(move || write_events(&*store, receiver));
    (sender, task)
}

fn write_events(store: &dyn BriefingStore, mut receiver: mpsc::Receiver<BriefingRecord>) {
    let mut rooms: Vec<String> = Vec::new();
    while let Some(record) = receiver.blocking_recv() {
        if !rooms.contains(&record.room) {
            rooms.push(record.room.clone());
        }
        if let Err(error) = store.append(&record) {
            tracing::error!(room = %record.room, %error, "briefing event not stored");
            continue;
        }
        let result = match record.event {
            BriefingEvent::Closed => {
                rooms.retain(|r| *r != record.room);
                store.close(&record.room)
            }
            ref event if event.needs_sync() => store.sync(&record.room),
            _ => Ok(()),
        };
        if let Err(error) = result {
            tracing::error!(room = %record.room, %error, "briefing events not synced to disk");
        }
    }
    for room in rooms {
        if let Err(error) = store.close(&room) {
            tracing::error!(%room, %error, "briefing events not synced to disk at shutdown");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(room: &str, at: u64, event: BriefingEvent) -> BriefingRecord {
        BriefingRecord {
            room: room.into(),
            at_unix_ms: at,
            event,
        }
    }

    fn left(identity: &str) -> BriefingEvent {
        BriefingEvent::Left {
            identity: identity.into(),
        }
    }

    #[test]
    fn records_round_trip_per_room() {
        let folder = tempfile::tempdir().unwrap();
        let store = JsonlStore::new(folder.path().join("briefings"));
        store.append(&record("a", 1, left("x"))).unwrap();
        store.append(&record("b", 2, left("y"))).unwrap();
        store
            .append(&record("a", 3, BriefingEvent::Closed))
            .unwrap();
        store.close("a").unwrap();
        let a = store.records("a").unwrap();
        assert_eq!(a.len(), 2);
        assert_eq!(a[1].event, BriefingEvent::Closed);
        assert_eq!(store.records("b").unwrap().len(), 1);
        assert!(store.records("never").unwrap().is_empty());
        assert!(store.path("a").ends_with("briefings/a.jsonl"));
    }

    #[test]
    fn torn_last_line_is_skipped() {
        let folder = tempfile::tempdir().unwrap();
        let store = JsonlStore::new(folder.path().to_path_buf());
        store.append(&record("a", 1, left("x"))).unwrap();
        store.close("a").unwrap();
        let mut file = open_append(&store.path("a")).unwrap();
        file.write_all(b"{\"room\":\"a\",\"at_un").unwrap();
        assert_eq!(store.records("a").unwrap().len(), 1);
    }

    #[tokio::test]
    async fn writer_stores_everything_sent_before_it_stops() {
        let folder = tempfile::tempdir().unwrap();
        let store = Arc::new(JsonlStore::new(folder.path().to_path_buf()));
        let (sender, task) = spawn_writer(Arc::clone(&store) as Arc<dyn BriefingStore>);
        for at in 0..100 {
            sender.send(record("a", at, left("x")));
        }
        drop(sender);
        task.await.unwrap();
        let stored = store.records("a").unwrap();
        let times: Vec<u64> = stored.iter().map(|r| r.at_unix_ms).collect();
        assert_eq!(times, (0..100).collect::<Vec<_>>());
        assert!(store.files().is_empty(), "the writer closed the file");
    }
}
