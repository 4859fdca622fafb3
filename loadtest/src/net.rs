//! Where the harness connects, and from where. One source address has ~28k ephemeral ports; when
//! a test may hold more connections than `ports_per_source` and the target is on loopback, the
//! harness binds its sockets round-robin to 127.0.0.1, 127.0.0.2, … (all of 127/8 is local).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;

use crate::error::LoadError;

/// The server under test: `http://HOST:PORT` for the REST API, `ws://HOST:PORT/ws` for sessions.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub http_base: String,
    pub ws_url: String,
    pub authority: String,
}

impl Target {
    /// Accepts `http://host:port`, `ws://host:port` (a trailing path is ignored).
    pub fn parse(url: &str) -> Result<Target, LoadError> {
        let rest = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("ws://"))
            .ok_or_else(|| LoadError::config(format!("target {url:?} must start with http:// or ws:// (no TLS)")))?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(LoadError::config(format!("target {url:?} has no host")));
        }
        let authority = if authority.contains(':') { authority.to_owned() } else { format!("{authority}:80") };
        Ok(Target { http_base: format!("http://{authority}"), ws_url: format!("ws://{authority}/ws"), authority })
    }
}

pub type Ws = WebSocketStream<TcpStream>;

/// Opens WebSocket connections to the target, spreading them over source addresses if needed.
pub struct Connector {
    addr: SocketAddr,
    ws_url: String,
    sources: Vec<IpAddr>,
    next: AtomicUsize,
}

/// How many loopback source addresses `peak` connections need (1 means: let the OS choose).
pub fn sources_needed(peak: u64, ports_per_source: u32) -> usize {
    (peak.div_ceil(u64::from(ports_per_source.max(1))) as usize).clamp(1, 254)
}

impl Connector {
    pub async fn new(target: &Target, peak_connections: u64, ports_per_source: u32) -> Result<Connector, LoadError> {
        let addr = tokio::net::lookup_host(&target.authority)
            .await
            .map_err(|e| LoadError::setup(format!("cannot resolve {}: {e}", target.authority)))?
            .next()
            .ok_or_else(|| LoadError::setup(format!("{} resolves to nothing", target.authority)))?;
        let n = sources_needed(peak_connections, ports_per_source);
        let sources = match addr.ip() {
            IpAddr::V4(ip) if n > 1 && ip.is_loopback() => {
                (1..=n as u8).map(|i| IpAddr::V4(Ipv4Addr::new(127, 0, 0, i))).collect()
            }
            _ => Vec::new(),
        };
        Ok(Connector { addr, ws_url: target.ws_url.clone(), sources, next: AtomicUsize::new(0) })
    }

    /// Source addresses in use (empty: the OS's choice).
    pub fn sources(&self) -> &[IpAddr] {
        &self.sources
    }

    /// TCP connect (from the next source address) and the WebSocket upgrade.
    pub async fn connect(&self) -> Result<Ws, String> {
        let stream = if self.sources.is_empty() {
            TcpStream::connect(self.addr).await.map_err(|e| format!("connect: {e}"))?
        } else {
            let src = self.sources[self.next.fetch_add(1, Ordering::Relaxed) % self.sources.len()];
            let socket = TcpSocket::new_v4().map_err(|e| format!("socket: {e}"))?;
            socket.bind(SocketAddr::new(src, 0)).map_err(|e| format!("bind {src}: {e}"))?;
            socket.connect(self.addr).await.map_err(|e| format!("connect from {src}: {e}"))?
        };
        stream.set_nodelay(true).map_err(|e| format!("nodelay: {e}"))?;
        let (ws, _) =
            tokio_tungstenite::client_async(self.ws_url.as_str(), stream).await.map_err(|e| format!("upgrade: {e}"))?;
        Ok(ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        let t = Target::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(t.ws_url, "ws://127.0.0.1:8080/ws");
        assert_eq!(t.http_base, "http://127.0.0.1:8080");
        assert_eq!(Target::parse("ws://localhost:9/ws").unwrap().authority, "localhost:9");
        assert_eq!(Target::parse("http://example.test/").unwrap().authority, "example.test:80");
        assert_eq!(Target::parse("https://x:1").unwrap_err().exit_code(), 104);
        assert!(Target::parse("http://").is_err());
    }

    #[test]
    fn source_addresses_scale_with_connections() {
        assert_eq!(sources_needed(10, 20_000), 1);
        assert_eq!(sources_needed(20_000, 20_000), 1);
        assert_eq!(sources_needed(20_001, 20_000), 2);
        assert_eq!(sources_needed(100_000, 20_000), 5);
        assert_eq!(sources_needed(u64::MAX, 1), 254);
    }

    #[tokio::test]
    async fn loopback_targets_get_several_sources_when_needed() {
        let t = Target::parse("http://127.0.0.1:1").unwrap();
        assert!(Connector::new(&t, 10, 20_000).await.unwrap().sources().is_empty());
        let c = Connector::new(&t, 50, 20).await.unwrap();
        assert_eq!(c.sources().len(), 3);
        assert_eq!(c.sources()[2], IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)));
    }
}
