//! Hot reload when the bundle source changes on disk.

use std::{path::Path, sync::Arc, time::Duration};

use notify::{RecursiveMode, Watcher};
use tokio::sync::mpsc;

use super::active::ActivePolicy;

/// Changes closer together than this are one reload (editors write files in several steps).
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Watches the store's source and reloads on change until `shutdown` resolves. A directory is
/// watched recursively; a bundle file through its parent directory, so atomic renames (the
/// usual way to publish a new `.tar.gz`) are seen.
pub async fn watch(
    store: Arc<ActivePolicy>,
    shutdown: impl std::future::Future<Output = ()>,
) -> notify::Result<()> {
    let (tx, mut rx) = mpsc::channel::<()>(1);
    let source = store.source().clone();
    let target = std::fs::canonicalize(&source).unwrap_or_else(|_| source.clone());
    let is_dir = target.is_dir();
    let filter = target.clone();
    let mut watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Reading the bundle (our own reload included) must not trigger a reload.
        let relevant = match &event {
            Ok(e) if e.kind.is_access() => false,
            Ok(e) => is_dir || e.paths.iter().any(|p| p == &filter),
            Err(_) => true,
        };
        if relevant {
            // A full channel already means "reload pending".
            let _ = tx.try_send(());
        }
    })?;
    let (path, mode) = if is_dir {
        (target.as_path(), RecursiveMode::Recursive)
    } else {
        (
            target.parent().unwrap_or(Path::new(".")),
            RecursiveMode::NonRecursive,
        )
    };
    watcher.watch(path, mode)?;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            changed = rx.recv() => {
                if changed.is_none() {
                    return Ok(());
                }
            }
        }
        // Debounce: let the writer finish, then fold the burst into one reload.
        tokio::time::sleep(DEBOUNCE).await;
        while rx.try_recv().is_ok() {}
        let store = store.clone();
        // Errors are recorded in the store's status and logged there.
        let _ = tokio::task::spawn_blocking(move || store.reload()).await;
    }
}
