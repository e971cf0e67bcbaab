//! The test sink itself (`scripts/smtp-sink.py`), as CI relies on it.

use crate::support::Sink;

#[test]
fn the_sink_exits_cleanly_on_sigterm() {
    let mut sink = Sink::start();

    let status = sink.stop().unwrap();

    assert!(status.success(), "{status:?}");
}
