//! A TCP proxy between the app and its database that a test can cut: `stop` drops every
//! connection and stops accepting (the port then refuses), `FaultProxy::start` on the same
//! address restores it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Forwards connections on its listener to `target` until stopped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on `listen` (port 0: any free port) and forwards to `target`.
    pub async fn start(listen: SocketAddr, target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind(listen).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let registry = tasks.clone();
        let acceptor = actix_web::rt::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let task = actix_web::rt::spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                registry.lock().unwrap().push(task);
            }
        });
        FaultProxy {
            addr,
            tasks,
            acceptor,
        }
    }

    /// Cuts the database off: every open connection is dropped, new ones are refused.
    pub fn stop(self) {
        self.acceptor.abort();
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

/// `url` (a PostgreSQL URL naming 127.0.0.1:5432 or localhost:5432) with the proxy's address.
pub fn through(url: &str, proxy: SocketAddr) -> String {
    let proxied = url
        .replacen("127.0.0.1:5432", &proxy.to_string(), 1)
        .replacen("localhost:5432", &proxy.to_string(), 1);
    assert_ne!(
        proxied, url,
        "TEST_DATABASE_URL must name 127.0.0.1:5432 or localhost:5432"
    );
    proxied
}
