//! `idle-patient`: connect, `hello`, hold the session (pinging) until the session duration is up
//! or the scenario stops. Measures connection capacity.

use super::session::{Session, keepalive};
use super::{Vu, VuError, until};
use crate::config::{Hold, Role};

pub async fn run(vu: &mut Vu, hold: &Hold) -> Result<(), VuError> {
    let mut s = Session::open(vu, Role::Patient).await?;
    let end = Vu::hold_until(hold);
    let mut ping = keepalive(hold.ping_interval);
    loop {
        tokio::select! {
            _ = vu.stop_requested() => break,
            _ = until(end) => break,
            _ = ping.tick() => s.ping().await?,
            frame = s.next() => { frame?; }
        }
    }
    s.close().await;
    Ok(())
}
