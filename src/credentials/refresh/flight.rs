//! In-process single flight: concurrent callers for one key join one task, and every one of
//! them receives its result. The task runs on its own, so it completes (and releases whatever
//! it holds) even if every caller goes away.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

type Map<K, V> = Arc<Mutex<HashMap<K, watch::Receiver<Option<V>>>>>;

/// Work a flight still does after its result is out (writing it down). Until it ends, the
/// flight stays in the map: later callers join it and get the result from memory.
pub type Tail = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The flights in progress, by key.
pub struct Flights<K, V> {
    map: Map<K, V>,
}

impl<K, V> Default for Flights<K, V> {
    fn default() -> Self {
        Flights {
            map: Arc::new(Mutex::new(HashMap::new())),
        }
    }
}

/// Removes a flight from the map when its task ends, however it ends.
struct Landing<K: Hash + Eq, V> {
    map: Map<K, V>,
    key: K,
}

impl<K: Hash + Eq, V> Drop for Landing<K, V> {
    fn drop(&mut self) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(&self.key);
        }
    }
}

impl<K, V> Flights<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// Joins the flight of `key`, or starts one running `lead()`. `None` only when the task
    /// died without a result (a panic) or the map is poisoned.
    pub async fn join_or_lead<F, Fut>(&self, key: K, lead: F) -> Option<V>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = (V, Option<Tail>)> + Send + 'static,
    {
        let mut receiver = {
            let mut map = self.map.lock().ok()?;
            match map.get(&key) {
                Some(receiver) => receiver.clone(),
                None => {
                    let (sender, receiver) = watch::channel(None);
                    map.insert(key.clone(), receiver.clone());
                    let landing = Landing {
                        map: Arc::clone(&self.map),
                        key,
                    };
                    let flight = lead();
                    // The leader's request span goes along: its log lines keep the request id.
                    let span = tracing::Span::current();
                    let task = async move {
                        let (result, tail) = flight.await;
                        let _ = sender.send(Some(result));
                        if let Some(tail) = tail {
                            tail.await;
                        }
                        drop(landing);
                    };
                    tokio::spawn(tracing::Instrument::instrument(task, span));
                    receiver
                }
            }
        };
        let result = receiver.wait_for(Option::is_some).await.ok()?;
        (*result).clone()
    }
}
