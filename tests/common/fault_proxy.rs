//! A TCP proxy between the app and its database that a test can break on purpose: forward,
//! refuse (nothing listens), black-hole (connections stay open, nothing gets through, as in a
//! network partition or a frozen host) and reset (every open connection is torn down, as a
//! database restart does).

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    BlackHole,
    Refuse,
}

/// The proxy's mode, and a counter bumped by each reset.
type State = (Mode, u64);

pub struct FaultProxy {
    pub addr: SocketAddr,
    target: SocketAddr,
    state: watch::Sender<State>,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl FaultProxy {
    /// Listens on `listen` (port 0: any free port) and forwards to `target`.
    pub async fn start(listen: SocketAddr, target: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind(listen).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (state, _) = watch::channel((Mode::Forward, 0));
        let proxy = FaultProxy {
            addr,
            target,
            state,
            acceptor: Mutex::new(None),
        };
        proxy.accept_on(listener);
        proxy
    }

    /// In front of the PostgreSQL of `TEST_DATABASE_URL` (127.0.0.1:5432).
    pub async fn postgres() -> FaultProxy {
        let target: SocketAddr = "127.0.0.1:5432".parse().unwrap();
        FaultProxy::start("127.0.0.1:0".parse().unwrap(), target).await
    }

    fn accept_on(&self, listener: TcpListener) {
        let (target, state) = (self.target, self.state.subscribe());
        let acceptor = actix_web::rt::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                actix_web::rt::spawn(pump(inbound, target, state.clone()));
            }
        });
        *self.acceptor.lock().unwrap() = Some(acceptor);
    }

    fn set(&self, mode: Mode) {
        self.state.send_modify(|state| state.0 = mode);
    }

    /// Nothing gets through any more; connections stay open.
    pub fn black_hole(&self) {
        self.set(Mode::BlackHole);
    }

    /// Every open connection is reset and nothing listens.
    pub fn refuse(&self) {
        if let Some(acceptor) = self.acceptor.lock().unwrap().take() {
            acceptor.abort();
        }
        self.set(Mode::Refuse);
    }

    /// Every open connection is reset; new ones are forwarded (a database restart).
    pub fn reset_all(&self) {
        self.state.send_modify(|state| state.1 += 1);
    }

    /// Forwards again. Connections that were black-holed are reset, as the kernel would give
    /// up on them; new ones work.
    pub async fn restore(&self) {
        let refused = self.acceptor.lock().unwrap().is_none();
        if refused {
            let listener = TcpListener::bind(self.addr).await.unwrap();
            self.accept_on(listener);
        }
        self.set(Mode::Forward);
    }

    /// Cuts the database off for good (drops every connection, stops listening).
    pub fn stop(self) {
        self.refuse();
    }
}

/// Forwards one connection while the mode allows; resets it when told to, or when it comes
/// back from a black hole.
async fn pump(mut inbound: TcpStream, target: SocketAddr, mut state: watch::Receiver<State>) {
    let (mode, generation) = *state.borrow_and_update();
    if mode == Mode::Refuse {
        reset(inbound);
        return;
    }
    let Ok(mut outbound) = TcpStream::connect(target).await else {
        reset(inbound);
        return;
    };
    let mut holed = mode == Mode::BlackHole;
    let (mut from_client, mut to_server) = ([0u8; 16 * 1024], [0u8; 16 * 1024]);
    loop {
        let (mode, now) = *state.borrow_and_update();
        holed |= mode == Mode::BlackHole;
        if now != generation || mode == Mode::Refuse || (holed && mode == Mode::Forward) {
            break;
        }
        tokio::select! {
            changed = state.changed() => if changed.is_err() { break },
            read = inbound.read(&mut from_client) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) if !holed => if outbound.write_all(&from_client[..n]).await.is_err() { return },
                Ok(_) => {}
            },
            read = outbound.read(&mut to_server) => match read {
                Ok(0) | Err(_) => break,
                Ok(n) if !holed => if inbound.write_all(&to_server[..n]).await.is_err() { return },
                Ok(_) => {}
            },
        }
    }
    reset(inbound);
}

/// Closes with a TCP reset rather than an orderly shutdown. (A zero linger never blocks the
/// close, which is what tokio's deprecation warns of.)
#[allow(deprecated)]
fn reset(stream: TcpStream) {
    let _ = stream.set_linger(Some(Duration::ZERO));
    drop(stream);
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
