//! Janus Gateway's HTTP REST API and its VideoRoom plugin, so that the same load runs
//! against Janus for comparison.
//!
//! Each client is one Janus session with one handle attached to `janus.plugin.videoroom`,
//! as a browser using `janus.js` has. A publisher joins a room and sends its offer in the
//! same request (`joinandconfigure`). Janus's answer arrives as an event. A subscriber asks
//! to join a room as a subscriber of some feeds; Janus sends an offer in an event, and the
//! subscriber answers with `start`. Events arrive by long polling `GET <base>/<session>`.
//! Request and message formats: <https://janus.conf.meetecho.com/docs/rest.html> and
//! <https://janus.conf.meetecho.com/docs/videoroom.html> (Janus 1.1).

use std::net::IpAddr;

use hyper::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::signalling::Server;
use crate::Error;

/// The VideoRoom plugin's package name.
const VIDEOROOM: &str = "janus.plugin.videoroom";

/// Events taken from Janus in one long poll, at most.
const EVENTS_PER_POLL: u32 = 10;

/// Events read ahead before the poller waits for the client to take them.
const INBOX_CAPACITY: usize = 64;

/// A Janus session id, as Janus returns it for `create`.
pub type SessionId = u64;

/// A handle id: one attachment of a session to a plugin.
pub type HandleId = u64;

/// A VideoRoom publisher's id in its room, which subscribers name as the feed.
pub type FeedId = u64;

/// A VideoRoom room number.
pub type RoomId = u64;

/// Builds a request of the Janus core, such as `create`, `keepalive` or `destroy`.
pub fn core_request(janus: &str, transaction: &str) -> Value {
    json!({"janus": janus, "transaction": transaction})
}

/// Builds an `attach` request for the VideoRoom plugin.
pub fn attach_request(transaction: &str) -> Value {
    json!({"janus": "attach", "plugin": VIDEOROOM, "transaction": transaction})
}

/// Builds a `message` request to a plugin, with an SDP offer or answer if `jsep` is given.
pub fn plugin_message(transaction: &str, body: Value, jsep: Option<Value>) -> Value {
    let mut message = json!({"janus": "message", "transaction": transaction, "body": body});
    if let Some(jsep) = jsep {
        message["jsep"] = jsep;
    }
    message
}

/// Builds a JSEP object for `kind` (`offer` or `answer`). The SDP contains every candidate,
/// so trickle is off.
pub fn jsep(kind: &str, sdp: &str) -> Value {
    json!({"type": kind, "sdp": sdp, "trickle": false})
}

/// Builds the body that creates `room` for up to `publishers` publishers.
pub fn create_room_body(room: RoomId, publishers: u32) -> Value {
    json!({"request": "create", "room": room, "publishers": publishers})
}

/// Builds the body that joins `room` as a publisher and publishes the offer sent with it.
pub fn publish_body(room: RoomId, display: &str) -> Value {
    json!({
        "request": "joinandconfigure",
        "ptype": "publisher",
        "room": room,
        "display": display,
        "audio": true,
        "video": true,
    })
}

/// Builds the body that joins `room` as a subscriber of every stream of `feeds`, on one
/// PeerConnection.
pub fn subscribe_body(room: RoomId, feeds: &[FeedId]) -> Value {
    let streams: Vec<Value> = feeds.iter().map(|feed| json!({"feed": feed})).collect();
    json!({"request": "join", "ptype": "subscriber", "room": room, "streams": streams})
}

/// Builds the body sent with a subscriber's answer.
pub fn start_body() -> Value {
    json!({"request": "start"})
}

/// A message from Janus: a reply to a request or an event from a long poll.
#[derive(Debug, Clone, Deserialize)]
pub struct Message {
    /// The kind: `success`, `ack`, `event`, `error`, `keepalive`, `webrtcup`, `media`,
    /// `hangup` and others.
    pub janus: String,
    /// The new session's or handle's id, for `create` and `attach`.
    #[serde(default)]
    pub data: Option<Created>,
    /// The plugin's part of a reply or event.
    #[serde(default)]
    pub plugindata: Option<PluginData>,
    /// An SDP offer or answer.
    #[serde(default)]
    pub jsep: Option<Jsep>,
    /// The failure, for `error`.
    #[serde(default)]
    pub error: Option<CoreError>,
    /// The reason, for `hangup`.
    #[serde(default)]
    pub reason: Option<String>,
}

/// The `data` of a `success` reply to `create` or `attach`.
#[derive(Debug, Clone, Deserialize)]
pub struct Created {
    /// The session's or handle's id.
    pub id: u64,
}

/// The plugin's part of a message.
#[derive(Debug, Clone, Deserialize)]
pub struct PluginData {
    /// The plugin's package name.
    pub plugin: String,
    /// The plugin's reply, such as `{"videoroom": "joined", "id": ...}`.
    pub data: Value,
}

/// An SDP offer or answer.
#[derive(Debug, Clone, Deserialize)]
pub struct Jsep {
    /// `offer` or `answer`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The SDP.
    pub sdp: String,
}

/// The `error` of a core `error` message.
#[derive(Debug, Clone, Deserialize)]
pub struct CoreError {
    /// Janus's error code.
    pub code: i64,
    /// What failed.
    pub reason: String,
}

impl Message {
    /// Returns the message, or an error when it reports one: a core `error`, or a plugin
    /// reply with an `error_code`.
    pub fn check(self) -> Result<Self, Error> {
        if let Some(error) = &self.error {
            return Err(Error::Signalling(format!(
                "Janus error {}: {}",
                error.code, error.reason
            )));
        }
        if let Some(code) = self.plugin_field("error_code") {
            let reason = self
                .plugin_field("error")
                .and_then(Value::as_str)
                .unwrap_or("no reason given");
            return Err(Error::Signalling(format!(
                "VideoRoom error {code}: {reason}"
            )));
        }
        if self.janus == "error" {
            return Err(Error::Signalling("Janus error without details".into()));
        }
        Ok(self)
    }

    /// Returns a field of the plugin's reply.
    pub fn plugin_field(&self, key: &str) -> Option<&Value> {
        self.plugindata.as_ref()?.data.get(key)
    }

    /// Returns the VideoRoom reply kind, such as `joined`, `attached`, `event` or `created`.
    pub fn videoroom(&self) -> Option<&str> {
        self.plugin_field("videoroom")?.as_str()
    }

    /// Returns the SDP of a JSEP of `kind`.
    pub fn sdp(&self, kind: &str) -> Option<&str> {
        let jsep = self.jsep.as_ref()?;
        (jsep.kind == kind).then_some(jsep.sdp.as_str())
    }
}

/// Returns the addresses of the ICE candidates in `sdp` that are neither loopback addresses
/// nor `own`, the address the client's sockets are bound to. Media must stay on this host
/// (or in the network namespace the benchmark runs in), so a client rejects an SDP with any.
pub fn outside_host(sdp: &str, own: IpAddr) -> Vec<String> {
    sdp.lines()
        .filter_map(|line| line.trim().strip_prefix("a=candidate:"))
        .filter_map(|candidate| candidate.split_whitespace().nth(4))
        .filter(|address| {
            address
                .parse::<std::net::IpAddr>()
                .map_or(true, |ip| !ip.is_loopback() && ip != own)
        })
        .map(str::to_string)
        .collect()
}

/// Returns `sdp`, or an error when it has a candidate outside loopback and `own`.
pub fn host_only(sdp: &str, own: IpAddr) -> Result<&str, Error> {
    let outside = outside_host(sdp, own);
    if outside.is_empty() {
        return Ok(sdp);
    }
    Err(Error::Setup(format!(
        "Janus offered ICE candidates outside loopback and {own} ({}): the client does not \
         send to them. Janus 1.1 gathers no loopback candidates, so run it in a network \
         namespace of its own, as tests/e2e/bench/janus.mjs does",
        outside.join(", ")
    )))
}

/// Parses one reply to a request.
pub fn parse_reply(body: &[u8]) -> Result<Message, Error> {
    serde_json::from_slice(body).map_err(|e| Error::Signalling(format!("Janus reply: {e}")))
}

/// Parses the body of a long poll: one message, or an array of them when more than one
/// event may be returned (`maxev` above 1).
pub fn parse_events(body: &[u8]) -> Result<Vec<Message>, Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        Many(Vec<Message>),
        One(Message),
    }
    match serde_json::from_slice(body) {
        Ok(OneOrMany::Many(messages)) => Ok(messages),
        Ok(OneOrMany::One(message)) => Ok(vec![message]),
        Err(e) => Err(Error::Signalling(format!("Janus events: {e}"))),
    }
}

/// One Janus session with one VideoRoom handle, and a task that long-polls its events.
pub struct JanusSession {
    server: Server,
    /// The address of the client's media sockets.
    own: IpAddr,
    base: String,
    session: SessionId,
    handle: HandleId,
    transactions: u64,
    inbox: mpsc::Receiver<Result<Message, Error>>,
    poller: JoinHandle<()>,
}

impl Drop for JanusSession {
    fn drop(&mut self) {
        self.poller.abort();
    }
}

impl JanusSession {
    /// Creates a session at `server`'s base path and attaches it to the VideoRoom plugin.
    /// `own` is the address of the client's media sockets.
    pub async fn open(server: &Server, own: IpAddr) -> Result<Self, Error> {
        let base = server.janus_base();
        let created = post(server, &base, &core_request("create", "create")).await?;
        let session = created_id(created, "create")?;
        let session_path = format!("{base}/{session}");
        let attached = post(server, &session_path, &attach_request("attach")).await?;
        let handle = created_id(attached, "attach")?;
        let (sender, inbox) = mpsc::channel(INBOX_CAPACITY);
        let poller = tokio::spawn(poll_events(server.clone(), session_path, sender));
        Ok(Self {
            server: server.clone(),
            own,
            base,
            session,
            handle,
            transactions: 0,
            inbox,
            poller,
        })
    }

    /// Returns the address of the client's media sockets.
    pub fn own(&self) -> IpAddr {
        self.own
    }

    fn transaction(&mut self) -> String {
        self.transactions += 1;
        format!("t{}", self.transactions)
    }

    /// Sends a message to the VideoRoom handle and returns Janus's reply: `ack` for
    /// requests whose result comes as an event, `success` for the others.
    pub async fn message(&mut self, body: Value, jsep: Option<Value>) -> Result<Message, Error> {
        let transaction = self.transaction();
        let path = format!("{}/{}/{}", self.base, self.session, self.handle);
        post(
            &self.server,
            &path,
            &plugin_message(&transaction, body, jsep),
        )
        .await
    }

    /// Returns the next event of the session; an error when polling failed.
    pub async fn receive(&mut self) -> Result<Message, Error> {
        match self.inbox.recv().await {
            Some(event) => event,
            None => Err(Error::Signalling("Janus long poll ended".into())),
        }
    }

    /// Waits for the first event that `accept` takes, skipping others; an error event of
    /// the plugin or the core ends the wait.
    pub async fn wait_for<T>(
        &mut self,
        mut accept: impl FnMut(&Message) -> Option<T>,
    ) -> Result<T, Error> {
        loop {
            let event = self.receive().await?.check()?;
            if event.janus == "hangup" {
                return Err(hangup(&event));
            }
            if let Some(value) = accept(&event) {
                return Ok(value);
            }
        }
    }

    /// Creates `room` for up to `publishers` publishers.
    pub async fn create_room(&mut self, room: RoomId, publishers: u32) -> Result<(), Error> {
        let reply = self
            .message(create_room_body(room, publishers), None)
            .await?;
        match reply.videoroom() {
            Some("created") => Ok(()),
            _ => Err(Error::Signalling(format!(
                "creating room {room}: unexpected reply {:?}",
                reply.janus
            ))),
        }
    }

    /// Joins `room` as a publisher with `offer`; returns Janus's answer and the feed id.
    pub async fn publish(
        &mut self,
        room: RoomId,
        display: &str,
        offer: &str,
    ) -> Result<(String, FeedId), Error> {
        let jsep = Some(jsep("offer", offer));
        self.message(publish_body(room, display), jsep).await?;
        let (answer, feed) = self
            .wait_for(|event| {
                let answer = event.sdp("answer")?;
                let feed = event.plugin_field("id")?.as_u64()?;
                Some((answer.to_string(), feed))
            })
            .await?;
        host_only(&answer, self.own)?;
        Ok((answer, feed))
    }

    /// Asks to join `room` as a subscriber of `feeds`. Janus's offer arrives as an event.
    pub async fn subscribe(&mut self, room: RoomId, feeds: &[FeedId]) -> Result<(), Error> {
        self.message(subscribe_body(room, feeds), None).await?;
        Ok(())
    }

    /// Sends a subscriber's answer with `start`.
    pub async fn answer(&mut self, sdp: &str) -> Result<(), Error> {
        self.message(start_body(), Some(jsep("answer", sdp)))
            .await?;
        Ok(())
    }

    /// Keeps the session from timing out.
    pub async fn keepalive(&mut self) -> Result<(), Error> {
        let transaction = self.transaction();
        let path = format!("{}/{}", self.base, self.session);
        post(
            &self.server,
            &path,
            &core_request("keepalive", &transaction),
        )
        .await?;
        Ok(())
    }

    /// Destroys the session, which hangs up its PeerConnection.
    pub async fn destroy(mut self) {
        let transaction = self.transaction();
        let path = format!("{}/{}", self.base, self.session);
        let _ = post(&self.server, &path, &core_request("destroy", &transaction)).await;
    }
}

/// Describes a `hangup` event as an error.
pub fn hangup(event: &Message) -> Error {
    let reason = event.reason.as_deref().unwrap_or("no reason given");
    Error::Signalling(format!("Janus hung up the PeerConnection: {reason}"))
}

fn created_id(reply: Message, what: &str) -> Result<u64, Error> {
    reply
        .data
        .map(|data| data.id)
        .ok_or_else(|| Error::Signalling(format!("Janus {what}: no id in the reply")))
}

/// POSTs a request and returns the checked reply.
async fn post(server: &Server, path: &str, request: &Value) -> Result<Message, Error> {
    let (status, body) = server
        .request(Method::POST, path, Some(request.clone()))
        .await?;
    if status != 200 {
        let text = String::from_utf8_lossy(&body);
        return Err(Error::Http(format!(
            "POST {path} returned {status}: {text}"
        )));
    }
    parse_reply(&body)?.check()
}

/// Long-polls the session's events into `inbox` until polling fails or the client is
/// gone; the last item sent is the error that ended it. Janus answers a poll with
/// `keepalive` after 30 s without events, and those are dropped here.
async fn poll_events(server: Server, path: String, inbox: mpsc::Sender<Result<Message, Error>>) {
    let query = format!("{path}?maxev={EVENTS_PER_POLL}");
    loop {
        let events = match server.request(Method::GET, &query, None).await {
            Ok((200, body)) => parse_events(&body),
            Ok((status, body)) => Err(Error::Http(format!(
                "GET {path} returned {status}: {}",
                String::from_utf8_lossy(&body)
            ))),
            Err(e) => Err(e),
        };
        let events = match events {
            Ok(events) => events,
            Err(e) => {
                let _ = inbox.send(Err(e)).await;
                return;
            }
        };
        for event in events.into_iter().filter(|e| e.janus != "keepalive") {
            if inbox.send(Ok(event)).await.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_message_carries_offer() {
        let message = plugin_message(
            "t1",
            publish_body(4242, "load publisher 0"),
            Some(jsep("offer", "v=0\r\n")),
        );
        assert_eq!(message["janus"], "message");
        assert_eq!(message["transaction"], "t1");
        assert_eq!(message["body"]["request"], "joinandconfigure");
        assert_eq!(message["body"]["ptype"], "publisher");
        assert_eq!(message["body"]["room"], 4242);
        assert_eq!(message["body"]["display"], "load publisher 0");
        assert_eq!(message["jsep"]["type"], "offer");
        assert_eq!(message["jsep"]["sdp"], "v=0\r\n");
        assert_eq!(message["jsep"]["trickle"], false);
    }

    #[test]
    fn subscribe_names_every_feed() {
        let body = subscribe_body(7, &[11, 2_885_778_061_602_350]);
        assert_eq!(body["request"], "join");
        assert_eq!(body["ptype"], "subscriber");
        assert_eq!(body["room"], 7);
        assert_eq!(
            body["streams"],
            json!([{"feed": 11}, {"feed": 2_885_778_061_602_350u64}])
        );
    }

    #[test]
    fn message_without_jsep_has_no_jsep_field() {
        let message = plugin_message("t2", start_body(), None);
        assert!(message.get("jsep").is_none());
        let core = core_request("keepalive", "t3");
        assert_eq!(core, json!({"janus": "keepalive", "transaction": "t3"}));
        assert_eq!(attach_request("a")["plugin"], "janus.plugin.videoroom");
        assert_eq!(create_room_body(9, 5)["publishers"], 5);
    }

    #[test]
    fn created_reply_gives_id() {
        let body = br#"{"janus": "success", "transaction": "create",
                        "data": {"id": 2507877141626124}}"#;
        let reply = parse_reply(body).unwrap().check().unwrap();
        assert_eq!(created_id(reply, "create").unwrap(), 2_507_877_141_626_124);
    }

    #[test]
    fn joined_event_gives_answer_and_feed() {
        let body = br#"[{"janus": "event", "session_id": 1, "sender": 2, "transaction": "t1",
            "plugindata": {"plugin": "janus.plugin.videoroom", "data": {"videoroom": "event",
                "room": 4242, "configured": "ok", "id": 88, "publishers": []}},
            "jsep": {"type": "answer", "sdp": "v=0 answer"}},
            {"janus": "webrtcup", "session_id": 1, "sender": 2}]"#;
        let events = parse_events(body).unwrap();
        assert_eq!(events.len(), 2);
        let event = events[0].clone().check().unwrap();
        assert_eq!(event.sdp("answer"), Some("v=0 answer"));
        assert_eq!(event.sdp("offer"), None);
        assert_eq!(event.plugin_field("id").and_then(Value::as_u64), Some(88));
        assert_eq!(event.videoroom(), Some("event"));
        assert_eq!(events[1].janus, "webrtcup");
        assert!(events[1].jsep.is_none());
    }

    #[test]
    fn single_event_without_array_parses() {
        let body = br#"{"janus": "event", "plugindata": {"plugin": "janus.plugin.videoroom",
            "data": {"videoroom": "attached", "room": 7}},
            "jsep": {"type": "offer", "sdp": "v=0 offer"}}"#;
        let events = parse_events(body).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].videoroom(), Some("attached"));
        assert_eq!(events[0].sdp("offer"), Some("v=0 offer"));
        let keepalive = parse_events(br#"{"janus": "keepalive"}"#).unwrap();
        assert_eq!(keepalive[0].janus, "keepalive");
    }

    #[test]
    fn plugin_error_is_an_error() {
        let body = br#"{"janus": "success", "plugindata": {"plugin": "janus.plugin.videoroom",
            "data": {"videoroom": "event", "error_code": 427,
                     "error": "Room 777 already exists"}}}"#;
        let error = parse_reply(body).unwrap().check().unwrap_err().to_string();
        assert!(error.contains("427"), "{error}");
        assert!(error.contains("Room 777 already exists"), "{error}");
    }

    #[test]
    fn core_error_is_an_error() {
        let body = br#"{"janus": "error", "error": {"code": 458, "reason": "No such session"}}"#;
        let error = parse_reply(body).unwrap().check().unwrap_err().to_string();
        assert!(error.contains("458"), "{error}");
        assert!(error.contains("No such session"), "{error}");
    }

    #[test]
    fn hangup_reason_is_reported() {
        let event = parse_reply(br#"{"janus": "hangup", "reason": "DTLS alert"}"#).unwrap();
        assert!(hangup(&event).to_string().contains("DTLS alert"));
    }

    #[test]
    fn candidates_outside_loopback_are_found() {
        let sdp = "v=0\r\na=candidate:1 1 udp 2015363327 192.0.2.2 42820 typ host\r\n\
                   a=candidate:2 1 udp 2015363583 fd00::2 42096 typ host\r\n\
                   a=candidate:3 1 udp 2015363839 127.0.0.1 42387 typ host\r\n\
                   a=candidate:4 1 udp 2015363839 ::1 42388 typ host\r\n";
        let loopback = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(outside_host(sdp, loopback), vec!["192.0.2.2", "fd00::2"]);
        assert!(host_only(sdp, loopback).is_err());
        let own = IpAddr::from([192, 0, 2, 2]);
        assert_eq!(outside_host(sdp, own), vec!["fd00::2"]);
        let local = "a=candidate:3 1 udp 2015363839 127.0.0.1 42387 typ host\r\n";
        assert!(outside_host(local, loopback).is_empty());
        assert_eq!(host_only(local, loopback).unwrap(), local);
    }

    #[test]
    fn mdns_candidate_is_outside_loopback() {
        let sdp = "a=candidate:1 1 udp 1 0b1c2d3e.local 5000 typ host\r\n";
        let own = IpAddr::from([127, 0, 0, 1]);
        assert_eq!(outside_host(sdp, own), vec!["0b1c2d3e.local"]);
    }

    #[test]
    fn malformed_reply_is_an_error() {
        assert!(parse_reply(b"not json").is_err());
        assert!(parse_reply(br#"{"data": {"id": 1}}"#).is_err());
        assert!(parse_events(b"[1, 2]").is_err());
    }
}
