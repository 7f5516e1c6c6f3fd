//! One live connection to Redis: the ordered command lane (SUBSCRIBE, UNSUBSCRIBE, PUBLISH,
//! PING) and the end of the connection; pushes go to `incoming.rs`. Called by `driver.rs` once
//! per successful connect.
//!
//! The lane is a queue of commands sent strictly in order, one batch in flight at a time:
//! consecutive PUBLISHes go as one pipeline, consecutive SUBSCRIBEs (or UNSUBSCRIBEs) as one
//! command. Waiting for a batch's answers before sending the next is what makes the order on
//! the wire the queue's order, which the echo bookkeeping in `topics.rs` relies on; under load
//! the batches grow, so throughput does not suffer.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use bytes::Bytes;
use redis::aio::MultiplexedConnection;
use redis::{PushInfo, RedisResult, Value};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::mpsc::UnboundedReceiver;

use super::driver::{err, redis_err, Driver};
use super::incoming;
use super::{BrokerEvent, Done, Op};
use crate::error::{Code, SubwireError};

/// Most PUBLISHes in one pipelined batch, and most payload bytes.
const BATCH_MAX: usize = 1024;
const BATCH_BYTES: usize = 1 << 20;
/// Most channels in one SUBSCRIBE when resubscribing.
const SUBSCRIBE_CHUNK: usize = 1000;

pub(super) enum End {
    Shutdown,
    Lost(SubwireError),
}

struct Publish {
    topic: Box<str>,
    payload: Bytes,
    seq: u64,
    done: Done,
}

enum Queued {
    Publish(Publish),
    Subscribe(Vec<Box<str>>),
    Unsubscribe(Vec<(Box<str>, u64)>),
    /// A PING: the callbacks run once every command queued before it was answered.
    Ping(Vec<Done>),
}

/// What the batch in flight carries.
enum Sent {
    Publishes(Vec<Publish>),
    Subscribe(Vec<Box<str>>),
    Unsubscribe(Vec<(Box<str>, u64)>),
    Ping(Vec<Done>),
}

type Answer = Result<RedisResult<Vec<Value>>, tokio::time::error::Elapsed>;

/// The batch in flight: what was sent, and the future of its answers.
struct Flight {
    sent: Sent,
    reply: Pin<Box<dyn Future<Output = Answer>>>,
}

pub(super) async fn run(
    d: &mut Driver,
    conn: MultiplexedConnection,
    mut pushes: UnboundedReceiver<PushInfo>,
) -> End {
    let mut lane: VecDeque<Queued> = VecDeque::new();
    let names = d.topics.resubscribe();
    for chunk in names.chunks(SUBSCRIBE_CHUNK) {
        lane.push_back(Queued::Subscribe(chunk.to_vec()));
    }
    while let Some(op) = d.held.pop_front() {
        enqueue(d, &mut lane, op);
    }
    let mut flight: Option<Flight> = None;
    let period = (d.cfg.idle_ping.min(d.cfg.echo_ttl) / 2).max(Duration::from_millis(1));
    let mut tick = tokio::time::interval(period);
    let mut last_traffic = Instant::now();
    let end = loop {
        if flight.is_none() {
            flight = start(d, &conn, &mut lane);
        }
        // Not biased: a flood of messages must not starve the caller's publishes.
        tokio::select! {
            push = pushes.recv() => {
                last_traffic = Instant::now();
                if let Some(e) = take_pushes(d, &mut pushes, push) { break End::Lost(e) }
            }
            reply = wait(&mut flight) => {
                last_traffic = Instant::now();
                let Some(f) = flight.take() else { continue };
                if let Err(e) = finish(d, &mut lane, f.sent, reply) { break End::Lost(e) }
            }
            op = d.rx.recv() => if !take_queued(d, &mut lane, op) { break End::Shutdown },
            _ = tick.tick() => {
                let now = Instant::now();
                d.topics.expire(now, d.cfg.echo_ttl);
                if flight.is_none() && lane.is_empty() && now.saturating_duration_since(last_traffic) >= d.cfg.idle_ping {
                    lane.push_back(Queued::Ping(Vec::new()));
                }
            }
        }
    };
    // Whatever was not answered fails: a publish in flight may or may not have reached Redis.
    let gone = match &end {
        End::Shutdown => err(Code::Disposed, "the broker was shut down"),
        End::Lost(e) => err(Code::BrokerDown, e.message.clone()),
    };
    if let Some(f) = flight {
        fail_sent(d, f.sent, &gone);
    }
    for q in lane {
        fail_queued(d, q, &gone);
    }
    end
}

/// Handles `push` and every push already waiting behind it (what one read from Redis
/// carried, as the connection's reader hands them over together), then lets the relay pass
/// them on: a burst published elsewhere reaches JS and the hubs as one batch, not its first
/// message alone and the rest after.
fn take_pushes(
    d: &mut Driver,
    pushes: &mut UnboundedReceiver<PushInfo>,
    push: Option<PushInfo>,
) -> Option<SubwireError> {
    let mut next = push;
    let lost = loop {
        let Some(p) = next else {
            break Some(err(Code::BrokerDown, "the connection to Redis closed"));
        };
        if let Some(e) = incoming::on_push(d, p) {
            break Some(e);
        }
        match pushes.try_recv() {
            Ok(p) => next = Some(p),
            Err(TryRecvError::Empty) => break None,
            Err(TryRecvError::Disconnected) => next = None,
        }
    };
    d.deliver.flush();
    lost
}

/// Puts `op` and every operation already waiting behind it in the lane (false on shutdown),
/// so the publishes of one burst (one JS turn) leave in one pipeline: were the first sent
/// alone, the rest would follow one round trip later and every subscribing process would
/// fan the burst out in two parts, a `writev` per connection for each.
fn take_queued(d: &mut Driver, lane: &mut VecDeque<Queued>, op: Option<Op>) -> bool {
    let mut next = op;
    loop {
        match next {
            None | Some(Op::Shutdown) => return false,
            Some(op) => enqueue(d, lane, op),
        }
        match d.rx.try_recv() {
            Ok(op) => next = Some(op),
            Err(TryRecvError::Empty) => return true,
            Err(TryRecvError::Disconnected) => return false,
        }
    }
}

/// Resolves with the answers of the batch in flight; pending forever when there is none.
async fn wait(flight: &mut Option<Flight>) -> Answer {
    match flight {
        Some(f) => f.reply.as_mut().await,
        None => std::future::pending().await,
    }
}

fn next_seq(d: &mut Driver) -> u64 {
    d.seq += 1;
    d.seq
}

/// Puts a caller's operation in the lane, deciding SUBSCRIBE/UNSUBSCRIBE and echoes now:
/// the lane's order is the wire's order.
fn enqueue(d: &mut Driver, lane: &mut VecDeque<Queued>, op: Op) {
    match op {
        Op::Subscribe(t) => {
            if d.topics.add(&t, true) {
                match lane.back_mut() {
                    Some(Queued::Subscribe(v)) => v.push(t),
                    _ => lane.push_back(Queued::Subscribe(vec![t])),
                }
            }
        }
        Op::Unsubscribe(t) => {
            if d.topics.remove(&t) {
                let seq = next_seq(d);
                match lane.back_mut() {
                    Some(Queued::Unsubscribe(v)) => v.push((t, seq)),
                    _ => lane.push_back(Queued::Unsubscribe(vec![(t, seq)])),
                }
            }
        }
        Op::Publish {
            topic,
            payload,
            done,
        } => {
            let seq = next_seq(d);
            d.topics.published(&topic, &payload, seq, Instant::now());
            lane.push_back(Queued::Publish(Publish {
                topic,
                payload,
                seq,
                done,
            }));
        }
        Op::Barrier(done) => match lane.back_mut() {
            Some(Queued::Ping(v)) => v.push(done),
            _ => lane.push_back(Queued::Ping(vec![done])),
        },
        Op::Many(ops) => ops.into_iter().for_each(|op| enqueue(d, lane, op)),
        Op::Shutdown => {}
    }
}

fn channel(prefix: &str, topic: &str) -> Vec<u8> {
    let mut c = Vec::with_capacity(prefix.len() + topic.len());
    c.extend_from_slice(prefix.as_bytes());
    c.extend_from_slice(topic.as_bytes());
    c
}

/// Sends the next batch of the lane, if any.
fn start(d: &Driver, conn: &MultiplexedConnection, lane: &mut VecDeque<Queued>) -> Option<Flight> {
    let mut c = conn.clone();
    let limit = d.cfg.command_timeout;
    let prefix = d.cfg.prefix.as_str();
    let (sent, reply): (Sent, Pin<Box<dyn Future<Output = Answer>>>) = match lane.pop_front()? {
        Queued::Publish(first) => {
            let mut bytes = first.payload.len();
            let mut batch = vec![first];
            while batch.len() < BATCH_MAX && bytes < BATCH_BYTES {
                let Some(Queued::Publish(_)) = lane.front() else {
                    break;
                };
                if let Some(Queued::Publish(p)) = lane.pop_front() {
                    bytes += p.payload.len();
                    batch.push(p);
                }
            }
            let mut pipe = redis::pipe();
            for p in &batch {
                pipe.cmd("PUBLISH")
                    .arg(channel(prefix, &p.topic))
                    .arg(&p.payload[..]);
            }
            let n = batch.len();
            let fut = async move { c.send_packed_commands(&pipe, 0, n).await };
            (
                Sent::Publishes(batch),
                Box::pin(tokio::time::timeout(limit, fut)),
            )
        }
        Queued::Subscribe(topics) => {
            let chans: Vec<Vec<u8>> = topics.iter().map(|t| channel(prefix, t)).collect();
            let fut = async move { c.subscribe(chans).await.map(|()| Vec::new()) };
            (
                Sent::Subscribe(topics),
                Box::pin(tokio::time::timeout(limit, fut)),
            )
        }
        Queued::Unsubscribe(topics) => {
            let chans: Vec<Vec<u8>> = topics.iter().map(|(t, _)| channel(prefix, t)).collect();
            let fut = async move { c.unsubscribe(chans).await.map(|()| Vec::new()) };
            (
                Sent::Unsubscribe(topics),
                Box::pin(tokio::time::timeout(limit, fut)),
            )
        }
        Queued::Ping(dones) => {
            let fut = async move {
                let v: RedisResult<Value> = redis::cmd("PING").query_async(&mut c).await;
                v.map(|v| vec![v])
            };
            (
                Sent::Ping(dones),
                Box::pin(tokio::time::timeout(limit, fut)),
            )
        }
    };
    Some(Flight { sent, reply })
}

/// Settles a batch with its answers. An error here means the connection is unusable.
fn finish(
    d: &mut Driver,
    lane: &mut VecDeque<Queued>,
    sent: Sent,
    answer: Answer,
) -> Result<(), SubwireError> {
    let values = match answer {
        Err(_) => {
            let e = err(
                Code::BrokerDown,
                format!("Redis did not answer within {:?}", d.cfg.command_timeout),
            );
            fail_sent(d, sent, &e);
            return Err(e);
        }
        Ok(Err(e)) if e.is_unrecoverable_error() || e.is_io_error() => {
            let e = redis_err(Code::BrokerDown, "the connection to Redis failed", &e);
            fail_sent(d, sent, &e);
            return Err(e);
        }
        Ok(Err(e)) => {
            // Redis refused the command (an ACL, …); the connection itself is fine.
            let e = redis_err(Code::BrokerCommand, "Redis refused a command", &e);
            match sent {
                // One refused channel fails a whole SUBSCRIBE: try them one by one, before
                // anything queued behind (nothing behind was sent yet), so the others live.
                Sent::Subscribe(topics) if topics.len() > 1 => {
                    for t in topics.into_iter().rev() {
                        lane.push_front(Queued::Subscribe(vec![t]));
                    }
                }
                Sent::Subscribe(topics) => {
                    for t in &topics {
                        d.topics.refused(t);
                    }
                    let msg = format!("cannot subscribe to topic {:?}: {}", topics[0], e.message);
                    d.deliver
                        .event(BrokerEvent::Error(err(Code::BrokerCommand, msg)));
                }
                other => fail_sent(d, other, &e),
            }
            return Ok(());
        }
        Ok(Ok(values)) => values,
    };
    match sent {
        Sent::Ping(dones) => dones.into_iter().for_each(|done| done(Ok(()))),
        Sent::Subscribe(_) => {}
        Sent::Unsubscribe(topics) => {
            for (t, seq) in topics {
                d.topics.unsubscribed(&t, seq);
            }
        }
        Sent::Publishes(batch) => {
            let mut values = values.into_iter();
            for p in batch {
                let r = match values.next() {
                    Some(Value::ServerError(e)) => {
                        Err(err(Code::BrokerCommand, format!("PUBLISH failed: {e}")))
                    }
                    Some(_) => Ok(()),
                    None => Err(err(Code::BrokerCommand, "PUBLISH got no answer")),
                };
                if r.is_err() {
                    d.topics.publish_failed(&p.topic, p.seq);
                }
                d.publish_done(p.payload.len(), p.done, r);
            }
        }
    }
    Ok(())
}

fn fail_publish(d: &mut Driver, p: Publish, e: &SubwireError) {
    d.topics.publish_failed(&p.topic, p.seq);
    d.publish_done(p.payload.len(), p.done, Err(e.clone()));
}

fn fail_sent(d: &mut Driver, sent: Sent, e: &SubwireError) {
    match sent {
        Sent::Publishes(batch) => batch.into_iter().for_each(|p| fail_publish(d, p, e)),
        Sent::Ping(dones) => dones.into_iter().for_each(|done| done(Err(e.clone()))),
        Sent::Subscribe(_) | Sent::Unsubscribe(_) => {}
    }
}

fn fail_queued(d: &mut Driver, q: Queued, e: &SubwireError) {
    match q {
        Queued::Publish(p) => fail_publish(d, p, e),
        Queued::Ping(dones) => dones.into_iter().for_each(|done| done(Err(e.clone()))),
        Queued::Subscribe(_) | Queued::Unsubscribe(_) => {}
    }
}
