//! The local backend: one file per object under a root folder.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::error::{is_missing, Operation, StorageError, Target};
use crate::key::{KeyPrefix, ObjectKey};
use crate::object::ObjectInfo;

/// Suffix of the temporary files that `put` writes before renaming them. `~` is not a key
/// character, so a temporary file never collides with an object and `list` skips it.
const TEMP_SUFFIX: &str = "~partial";

/// Objects stored as files under a root folder: key `a/b/c` is the file `ROOT/a/b/c`.
///
/// Writes are atomic and durable: `put` writes a temporary file in the object's folder,
/// fsyncs it, renames it over the object and fsyncs the folder. So a reader, or the disk
/// after a crash, has the old object or the new one, never a part.
///
/// NOTE: a key cannot name a file where another key needs a folder: with `a/b` stored,
/// putting `a/b/c` fails with an I/O error, unlike on S3.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
}

/// Path and error of a failed blocking step.
type PathError = (PathBuf, io::Error);

impl LocalStore {
    /// Creates a store under `root` without touching the disk. The folder is created by the
    /// first `put` or by [`check`](Self::check).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Returns the root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Returns the path of the file that contains the object at `key`.
    pub fn path_of(&self, key: &ObjectKey) -> PathBuf {
        let mut path = self.root.clone();
        path.extend(key.segments());
        path
    }

    /// Stores `data` under `key`, replacing any object there.
    pub async fn put(&self, key: &ObjectKey, data: Bytes) -> Result<(), StorageError> {
        let root = self.root.clone();
        let path = self.path_of(key);
        let result = blocking(move || {
            write_atomically(&root, &path, |file| {
                file.write_all(&data).map_err(|e| (None, e))
            })
        })
        .await;
        result.map_err(|(path, e)| self.io_error(Operation::Put, key.as_str(), path, e, false))
    }

    /// Copies the file at `source` to `key`, replacing any object there.
    pub async fn put_file(&self, key: &ObjectKey, source: &Path) -> Result<(), StorageError> {
        let root = self.root.clone();
        let path = self.path_of(key);
        let source = source.to_path_buf();
        let result = blocking(move || {
            let mut input = File::open(&source).map_err(|e| (source.clone(), e))?;
            write_atomically(&root, &path, |file| {
                io::copy(&mut input, file)
                    .map(drop)
                    .map_err(|e| (Some(source.clone()), e))
            })
        })
        .await;
        result.map_err(|(path, e)| self.io_error(Operation::PutFile, key.as_str(), path, e, false))
    }

    /// Stores the file at `source` under `key`, replacing any object there. When `source` is
    /// on the store's filesystem, it is fsynced and renamed, so it is gone afterwards and no
    /// byte is copied. Otherwise it is copied as by [`put_file`](Self::put_file) and stays.
    pub async fn move_file(&self, key: &ObjectKey, source: &Path) -> Result<(), StorageError> {
        let root = self.root.clone();
        let path = self.path_of(key);
        let source = source.to_path_buf();
        let result = blocking(move || {
            let folder = path.parent().unwrap_or(&root);
            create_folders_durably(&root, folder)?;
            // The data must be on disk before the object's name points to it.
            let input = match File::open(&source) {
                Ok(input) => input,
                // A retry after a failure past the rename finds the object in place.
                Err(e) if is_missing(&e) && path.is_file() => return sync_folder(folder),
                Err(e) => return Err((source.clone(), e)),
            };
            input.sync_all().map_err(|e| (source.clone(), e))?;
            match fs::rename(&source, &path) {
                Ok(()) => sync_folder(folder),
                Err(e) if e.kind() == io::ErrorKind::CrossesDevices => {
                    let mut input = input;
                    write_atomically(&root, &path, |file| {
                        io::copy(&mut input, file)
                            .map(drop)
                            .map_err(|e| (Some(source.clone()), e))
                    })
                }
                Err(e) => Err((source.clone(), e)),
            }
        })
        .await;
        result.map_err(|(path, e)| self.io_error(Operation::PutFile, key.as_str(), path, e, false))
    }

    /// Reads the whole object at `key`.
    pub async fn get(&self, key: &ObjectKey) -> Result<Bytes, StorageError> {
        let path = self.path_of(key);
        match tokio::fs::read(&path).await {
            Ok(data) => Ok(Bytes::from(data)),
            Err(e) => Err(self.io_error(Operation::Get, key.as_str(), path, e, true)),
        }
    }

    /// Returns the key and size of the object at `key`, or `None` when there is none.
    pub async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, StorageError> {
        let path = self.path_of(key);
        match tokio::fs::metadata(&path).await {
            Ok(meta) if meta.is_file() => Ok(Some(ObjectInfo {
                key: key.clone(),
                size: meta.len(),
            })),
            Ok(_) => Ok(None),
            Err(e) if is_missing(&e) => Ok(None),
            Err(e) => Err(self.io_error(Operation::Head, key.as_str(), path, e, false)),
        }
    }

    /// Lists the objects whose keys start with `prefix`, sorted by key.
    pub async fn list(&self, prefix: &KeyPrefix) -> Result<Vec<ObjectInfo>, StorageError> {
        let root = self.root.clone();
        let owned_prefix = prefix.clone();
        let result = blocking(move || list_files(&root, &owned_prefix)).await;
        result.map_err(|(path, e)| self.io_error(Operation::List, prefix.as_str(), path, e, false))
    }

    /// Deletes the object at `key`; succeeds when there is none.
    pub async fn delete(&self, key: &ObjectKey) -> Result<(), StorageError> {
        let path = self.path_of(key);
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if is_missing(&e) => Ok(()),
            Err(e) => Err(self.io_error(Operation::Delete, key.as_str(), path, e, false)),
        }
    }

    /// Creates the root folder if it is missing and checks that it is a folder.
    pub async fn check(&self) -> Result<(), StorageError> {
        let root = self.root.clone();
        let result = blocking(move || {
            fs::create_dir_all(&root).map_err(|e| (root.clone(), e))?;
            let meta = fs::metadata(&root).map_err(|e| (root.clone(), e))?;
            if meta.is_dir() {
                Ok(())
            } else {
                Err((root, io::Error::from(io::ErrorKind::NotADirectory)))
            }
        })
        .await;
        result.map_err(|(path, e)| self.io_error(Operation::Check, "", path, e, false))
    }

    /// `local folder ROOT`, for messages.
    pub fn location(&self) -> String {
        format!("local folder {}", self.root.display())
    }

    fn io_error(
        &self,
        operation: Operation,
        object: &str,
        path: PathBuf,
        error: io::Error,
        missing_is_not_found: bool,
    ) -> StorageError {
        let target = Target {
            operation,
            object: object.to_owned(),
            location: self.location(),
        };
        StorageError::from_io(target, path, error, missing_is_not_found)
    }
}

/// Runs `task` on tokio's blocking thread pool.
async fn blocking<T: Send + 'static>(
    task: impl FnOnce() -> Result<T, PathError> + Send + 'static,
) -> Result<T, PathError> {
    match tokio::task::spawn_blocking(task).await {
        Ok(result) => result,
        Err(e) => Err((
            PathBuf::new(),
            io::Error::other(format!("blocking file task failed: {e}")),
        )),
    }
}

/// Writes a file at `path` through `fill`, atomically and durably. `fill` returns the path
/// its error is about, or `None` for `path` itself.
fn write_atomically(
    root: &Path,
    path: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), (Option<PathBuf>, io::Error)>,
) -> Result<(), PathError> {
    let folder = path.parent().unwrap_or(root);
    create_folders_durably(root, folder)?;
    let at_path = |e| (path.to_path_buf(), e);

    let mut temp = tempfile::Builder::new()
        .prefix(".")
        .suffix(TEMP_SUFFIX)
        .tempfile_in(folder)
        .map_err(at_path)?;
    fill(temp.as_file_mut()).map_err(|(p, e)| (p.unwrap_or_else(|| path.to_path_buf()), e))?;
    temp.as_file().sync_all().map_err(at_path)?;
    temp.persist(path).map_err(|e| at_path(e.error))?;
    sync_folder(folder)
}

/// Creates `folder` and its missing parents, then fsyncs the parent of each folder it
/// created so that the new entries survive a crash. Folders above `root` are not synced.
fn create_folders_durably(root: &Path, folder: &Path) -> Result<(), PathError> {
    let missing: Vec<&Path> = folder.ancestors().take_while(|dir| !dir.exists()).collect();
    fs::create_dir_all(folder).map_err(|e| (folder.to_path_buf(), e))?;
    for dir in missing.iter().rev() {
        match dir.parent() {
            Some(parent) if parent.starts_with(root) => sync_folder(parent)?,
            _ => {}
        }
    }
    Ok(())
}

fn sync_folder(folder: &Path) -> Result<(), PathError> {
    File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(|e| (folder.to_path_buf(), e))
}

/// Walks the folders under `root` that can hold keys starting with `prefix`.
fn list_files(root: &Path, prefix: &KeyPrefix) -> Result<Vec<ObjectInfo>, PathError> {
    let mut start = root.to_path_buf();
    let mut start_key = String::new();
    for segment in prefix.folder_segments() {
        start.push(segment);
        start_key.push_str(segment);
        start_key.push('/');
    }

    let mut objects = Vec::new();
    let mut folders = vec![(start, start_key)];
    while let Some((folder, folder_key)) = folders.pop() {
        let entries = match fs::read_dir(&folder) {
            Ok(entries) => entries,
            Err(e) if is_missing(&e) => continue,
            Err(e) => return Err((folder, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| (folder.clone(), e))?;
            visit_entry(&entry, &folder_key, prefix, &mut objects, &mut folders)?;
        }
    }
    objects.sort();
    Ok(objects)
}

/// Adds a file entry that is an object under `prefix` to `objects`, or a folder entry that
/// may hold some to `folders`. Skips symbolic links, temporary files and names that are
/// not key segments.
fn visit_entry(
    entry: &fs::DirEntry,
    folder_key: &str,
    prefix: &KeyPrefix,
    objects: &mut Vec<ObjectInfo>,
    folders: &mut Vec<(PathBuf, String)>,
) -> Result<(), PathError> {
    let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
        return Ok(());
    };
    let key = format!("{folder_key}{name}");
    let file_type = match entry.file_type() {
        Ok(file_type) => file_type,
        Err(e) if is_missing(&e) => return Ok(()),
        Err(e) => return Err((entry.path(), e)),
    };

    if file_type.is_dir() {
        let sub_key = format!("{key}/");
        if sub_key.starts_with(prefix.as_str()) || prefix.as_str().starts_with(&sub_key) {
            folders.push((entry.path(), sub_key));
        }
        return Ok(());
    }
    if !file_type.is_file() {
        return Ok(());
    }
    let Ok(key) = ObjectKey::new(key) else {
        return Ok(());
    };
    if !key.starts_with(prefix) {
        return Ok(());
    }
    match entry.metadata() {
        Ok(meta) => objects.push(ObjectInfo {
            key,
            size: meta.len(),
        }),
        Err(e) if is_missing(&e) => {}
        Err(e) => return Err((entry.path(), e)),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> ObjectKey {
        ObjectKey::new(s).unwrap()
    }

    #[tokio::test]
    async fn put_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("root"));
        store
            .put(&key("a/b/c.bin"), Bytes::from_static(b"data"))
            .await
            .unwrap();

        let names: Vec<String> = fs::read_dir(dir.path().join("root/a/b"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["c.bin"]);
    }

    #[tokio::test]
    async fn list_skips_temporary_and_foreign_files() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        store
            .put(&key("r/a"), Bytes::from_static(b"1"))
            .await
            .unwrap();
        fs::write(dir.path().join("r/.x~partial"), b"half").unwrap();
        fs::write(dir.path().join("r/with space"), b"x").unwrap();

        let listed = store.list(&KeyPrefix::all()).await.unwrap();
        let keys: Vec<&str> = listed.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["r/a"]);
    }

    #[tokio::test]
    async fn key_naming_a_folder_is_not_an_object() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        store
            .put(&key("a/b"), Bytes::from_static(b"1"))
            .await
            .unwrap();

        assert_eq!(store.head(&key("a")).await.unwrap(), None);
        assert!(store.get(&key("a")).await.unwrap_err().is_not_found());
        assert!(store.get(&key("a/b/c")).await.unwrap_err().is_not_found());
        store.delete(&key("a")).await.unwrap();
        assert!(store.head(&key("a/b")).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn move_file_renames_on_same_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path().join("root"));
        let source = dir.path().join("segment.webm");
        fs::write(&source, b"segment").unwrap();

        store.move_file(&key("r/a.webm"), &source).await.unwrap();
        assert!(!source.exists(), "a file on the same filesystem is renamed");
        assert_eq!(
            store.get(&key("r/a.webm")).await.unwrap(),
            Bytes::from_static(b"segment")
        );
        let names: Vec<String> = fs::read_dir(dir.path().join("root/r"))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["a.webm"]);
    }

    #[tokio::test]
    async fn move_file_copies_across_filesystems() {
        use std::os::unix::fs::MetadataExt;

        let dir = tempfile::tempdir().unwrap();
        let Ok(other) = tempfile::tempdir_in("/dev/shm") else {
            eprintln!("skipped: /dev/shm is not writable");
            return;
        };
        let device = |path: &Path| fs::metadata(path).unwrap().dev();
        if device(dir.path()) == device(other.path()) {
            eprintln!("skipped: /dev/shm is on the same filesystem as the temporary folder");
            return;
        }
        let store = LocalStore::new(dir.path());
        let source = other.path().join("segment.webm");
        fs::write(&source, b"segment").unwrap();

        store.move_file(&key("r/a.webm"), &source).await.unwrap();
        assert!(source.exists(), "a copied file stays for the caller");
        assert_eq!(
            store.get(&key("r/a.webm")).await.unwrap(),
            Bytes::from_static(b"segment")
        );
    }

    #[tokio::test]
    async fn move_file_missing_source_is_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let missing = dir.path().join("nope");
        let error = store.move_file(&key("r/x"), &missing).await.unwrap_err();
        match &error {
            StorageError::Io { path, .. } => assert_eq!(path, &missing),
            other => panic!("expected an I/O error on the source, got {other:?}"),
        }
        assert_eq!(store.head(&key("r/x")).await.unwrap(), None);
    }

    #[tokio::test]
    async fn put_file_missing_source_is_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalStore::new(dir.path());
        let missing = dir.path().join("nope");
        let error = store.put_file(&key("x"), &missing).await.unwrap_err();
        match error {
            StorageError::Io { path, .. } => assert_eq!(path, missing),
            other => panic!("expected Io, got {other:?}"),
        }
    }
}
