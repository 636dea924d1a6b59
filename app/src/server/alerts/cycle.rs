//! One evaluation of an alert, the same in the server and in the standalone runner:
//! **prepare** (the caller reads the alert: rule, policy, previous states) → **run** (the
//! caller's query, bounded, into a [`Collect`]) → **evaluate** the rule and **step** the state
//! machine ([`decide`]) → **record** the new states with the deliveries they cause, as pending,
//! in one write ([`record`]) → **deliver** each ([`deliver`]: [`attempt`] per delivery, then
//! [`AlertStore::finish`]).
//!
//! What differs sits behind [`AlertStore`]: the server keeps states in the metadata store under
//! a run's lease (`engine.rs`); `sightline alerts run` keeps them in a SQLite file
//! (`standalone/state_file.rs`). How often a failed send is tried again is a [`RetryPolicy`].
use super::{
    channels::{ChannelError, Message},
    report::{self, Collect},
};
use crate::model::alert::{
    evaluate as evaluate_rule, step_alert, AlertStates, DeliveryOutcome, DeliveryStatus,
    Evaluation, Notification, NotificationKind, Rule, StatePolicy,
};
use chrono::{DateTime, Utc};
use std::{future::Future, time::Duration};

/// An alert as one evaluation needs it (the "prepare" step's result).
pub struct Prepared<'a> {
    pub name: &'a str,
    pub rule: &'a Rule,
    pub policy: &'a StatePolicy,
    pub prev: &'a AlertStates,
    /// Where messages link to (the insight with the alert's values), if anywhere.
    pub link: Option<String>,
}

/// What one evaluation decided, before anything is stored.
pub struct Decision {
    pub eval: Evaluation,
    /// The query's error, when it failed (the evaluation is then an error).
    pub error: Option<String>,
    pub next: AlertStates,
    /// `Ok -> Firing (n = 73)`, or `Firing (n = 73)` when nothing changed.
    pub detail: String,
    /// The notifications the step caused, each with what the channels are told.
    pub notes: Vec<(Notification, Message)>,
}

/// The rule evaluated on what the query returned (`ran` is the query's outcome; `result` what
/// it returned, possibly partial when it failed), the states stepped at `now`, and a message
/// written for each notification.
pub fn decide(
    alert: &Prepared<'_>,
    result: &Collect,
    ran: Result<(), String>,
    now: DateTime<Utc>,
) -> Decision {
    let (eval, error) = match ran {
        Ok(()) => (
            evaluate_rule(alert.rule, &result.columns, &result.rows),
            None,
        ),
        Err(message) => (Evaluation::query_failed(message.clone()), Some(message)),
    };
    let (next, notes) = step_alert(alert.prev, &eval, alert.policy, now);
    let detail = report::describe(alert.rule, alert.prev, &next, &eval);
    let notes = notes
        .into_iter()
        .map(|note| {
            let message = report::message(alert.name, &note, result, alert.link.clone());
            (note, message)
        })
        .collect();
    Decision {
        eval,
        error,
        next,
        detail,
        notes,
    }
}

/// A notification to one channel, about to be recorded.
pub struct Planned<'d, C> {
    pub channel: C,
    pub kind: NotificationKind,
    /// The `per_row` instance's key, empty for the alert as a whole.
    pub instance: String,
    pub message: &'d Message,
}

/// Every notification of `decision` to every channel.
pub fn plan<'d, C: Clone>(decision: &'d Decision, channels: &[C]) -> Vec<Planned<'d, C>> {
    let mut out = Vec::with_capacity(decision.notes.len() * channels.len());
    for (note, message) in &decision.notes {
        for c in channels {
            out.push(Planned {
                channel: c.clone(),
                kind: note.kind,
                instance: note.instance.clone().unwrap_or_default(),
                message,
            });
        }
    }
    out
}

/// Where an alert's states and deliveries are kept, and how it sends.
pub trait AlertStore {
    /// What a delivery goes to.
    type Channel;
    /// What a failed write is.
    type Error;

    /// Stores the new states with `deliveries` as pending, in one write. Returns for each
    /// delivery its id when this evaluation is to send it now (`None`: the same delivery was
    /// recorded earlier and is not sent again), or `None` when the evaluation is no longer
    /// this worker's to record.
    fn record(
        &self,
        decision: &Decision,
        deliveries: &[Planned<'_, Self::Channel>],
    ) -> impl Future<Output = Result<Option<Vec<Option<i64>>>, Self::Error>> + Send;

    /// Sends one message; `attempt` counts from 1 over the delivery's life.
    fn send(
        &self,
        channel: &Self::Channel,
        message: &Message,
        attempt: u32,
    ) -> impl Future<Output = Result<(), ChannelError>> + Send;

    /// Ends the evaluation: stores how its deliveries' attempts went (none, when it caused
    /// no notification).
    fn finish(
        &self,
        outcomes: &[DeliveryOutcome],
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// How often a failed send is tried: now, and later.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Sends per attempt, with a short wait between them (1 s, 2 s …, or what the channel
    /// asked, at most 30 s).
    pub tries_now: u32,
    /// Sends over a delivery's life before it is given up.
    pub max_tries: u32,
    /// A delivery older than this is given up.
    pub give_up_after: chrono::Duration,
    /// When the next attempt is due after `tries` sends failed.
    pub backoff: fn(tries: u32) -> Duration,
}

/// A recorded delivery about to be attempted.
pub struct Attempt<'a, C> {
    pub id: i64,
    pub channel: &'a C,
    pub message: &'a Message,
    /// Sends made before this attempt.
    pub tries_before: u32,
    pub created_at: DateTime<Utc>,
}

/// One attempt at a delivery: up to [`RetryPolicy::tries_now`] sends, then what the result
/// means for it: sent, pending again after a backoff, or given up (refused for good, too many
/// tries, or too old).
pub async fn attempt<S: AlertStore>(
    store: &S,
    policy: &RetryPolicy,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    a: Attempt<'_, S::Channel>,
) -> DeliveryOutcome {
    let mut tries = 0;
    let error = loop {
        tries += 1;
        let error = match store
            .send(a.channel, a.message, a.tries_before + tries)
            .await
        {
            Ok(()) => {
                return DeliveryOutcome {
                    id: a.id,
                    status: DeliveryStatus::Sent,
                    error: None,
                    next_attempt_at: None,
                    tries,
                }
            }
            Err(e) => e,
        };
        if !error.is_retryable() || tries >= policy.tries_now {
            break error;
        }
        let wait = error
            .retry_after()
            .unwrap_or(Duration::from_secs(1 << (tries - 1).min(4)))
            .min(Duration::from_secs(30));
        tokio::time::sleep(wait).await;
    };
    let total = a.tries_before + tries;
    let now = clock();
    let text = error.to_string();
    let too_old = now.signed_duration_since(a.created_at) > policy.give_up_after;
    if error.is_retryable() && total < policy.max_tries && !too_old {
        let backoff = error
            .retry_after()
            .unwrap_or_else(|| (policy.backoff)(total));
        DeliveryOutcome {
            id: a.id,
            status: DeliveryStatus::Pending,
            error: Some(text),
            next_attempt_at: Some(now + chrono::Duration::from_std(backoff).unwrap_or_default()),
            tries,
        }
    } else {
        let error = if !error.is_retryable() {
            text
        } else if too_old {
            let hours = policy.give_up_after.num_hours();
            format!("given up after {hours} hours: {text}")
        } else {
            format!("given up after {total} attempts: {text}")
        };
        DeliveryOutcome {
            id: a.id,
            status: DeliveryStatus::Failed,
            error: Some(error),
            next_attempt_at: None,
            tries,
        }
    }
}

/// What an evaluation recorded and how its deliveries went.
pub struct Cycle<'d, C> {
    /// The deliveries sent or tried now, with their outcomes, in the order planned.
    pub delivered: Vec<(Planned<'d, C>, DeliveryOutcome)>,
}

/// Records a decision with its deliveries; returns those this evaluation is to send now,
/// with their ids (a delivery recorded earlier for the same tick was sent then, or is pending
/// and retried on its own). `None` when the evaluation was no longer this worker's to record.
pub async fn record<'d, S: AlertStore>(
    store: &S,
    decision: &'d Decision,
    deliveries: Vec<Planned<'d, S::Channel>>,
) -> Result<Option<Vec<(i64, Planned<'d, S::Channel>)>>, S::Error> {
    let Some(ids) = store.record(decision, &deliveries).await? else {
        return Ok(None);
    };
    Ok(Some(
        ids.into_iter()
            .zip(deliveries)
            .filter_map(|(id, planned)| Some((id?, planned)))
            .collect(),
    ))
}

/// Sends what [`record`] returned (each with [`attempt`]), then ends the evaluation with
/// [`AlertStore::finish`].
pub async fn deliver<'d, S: AlertStore>(
    store: &S,
    policy: &RetryPolicy,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    to_send: Vec<(i64, Planned<'d, S::Channel>)>,
) -> Result<Cycle<'d, S::Channel>, S::Error> {
    let now = clock();
    let mut delivered = Vec::with_capacity(to_send.len());
    for (id, planned) in to_send {
        let a = Attempt {
            id,
            channel: &planned.channel,
            message: planned.message,
            tries_before: 0,
            created_at: now,
        };
        let outcome = attempt(store, policy, clock, a).await;
        delivered.push((planned, outcome));
    }
    let outcomes: Vec<DeliveryOutcome> = delivered.iter().map(|(_, o)| o.clone()).collect();
    store.finish(&outcomes).await?;
    Ok(Cycle { delivered })
}

/// [`record`], then [`deliver`]: the end of one evaluation.
pub async fn record_and_deliver<'d, S: AlertStore>(
    store: &S,
    policy: &RetryPolicy,
    clock: &(dyn Fn() -> DateTime<Utc> + Send + Sync),
    decision: &'d Decision,
    deliveries: Vec<Planned<'d, S::Channel>>,
) -> Result<Option<Cycle<'d, S::Channel>>, S::Error> {
    let Some(to_send) = record(store, decision, deliveries).await? else {
        return Ok(None);
    };
    deliver(store, policy, clock, to_send).await.map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::query::{Column, Value};
    use std::sync::Mutex;

    /// A store in memory whose sends answer as told (then succeed).
    #[derive(Default)]
    struct Memory {
        /// Deliveries (by index) recorded before: not sent again.
        known: Vec<bool>,
        answers: Mutex<Vec<ChannelError>>,
        sent: Mutex<Vec<(String, u32)>>,
        finished: Mutex<Vec<DeliveryOutcome>>,
    }

    impl AlertStore for Memory {
        type Channel = String;
        type Error = String;

        async fn record(
            &self,
            _decision: &Decision,
            deliveries: &[Planned<'_, String>],
        ) -> Result<Option<Vec<Option<i64>>>, String> {
            Ok(Some(
                (0..deliveries.len())
                    .map(|i| (!self.known.get(i).copied().unwrap_or(false)).then_some(i as i64))
                    .collect(),
            ))
        }

        async fn send(&self, c: &String, _m: &Message, attempt: u32) -> Result<(), ChannelError> {
            self.sent.lock().unwrap().push((c.clone(), attempt));
            match self.answers.lock().unwrap().pop() {
                Some(e) => Err(e),
                None => Ok(()),
            }
        }

        async fn finish(&self, outcomes: &[DeliveryOutcome]) -> Result<(), String> {
            self.finished.lock().unwrap().extend_from_slice(outcomes);
            Ok(())
        }
    }

    fn busy() -> ChannelError {
        ChannelError::Retryable {
            reason: "HTTP 503".into(),
            retry_after: Some(Duration::from_millis(1)),
        }
    }

    const POLICY: RetryPolicy = RetryPolicy {
        tries_now: 2,
        max_tries: 4,
        give_up_after: chrono::Duration::hours(24),
        backoff: |_| Duration::from_secs(60),
    };

    fn one_row() -> Collect {
        Collect {
            columns: vec![Column {
                name: "n".into(),
                type_name: "int8".into(),
            }],
            rows: vec![vec![Value::Int(73)]],
        }
    }

    fn decide_any_rows(result: &Collect, ran: Result<(), String>) -> Decision {
        let prev = AlertStates::default();
        let prepared = Prepared {
            name: "failed orders",
            rule: &Rule::AnyRows,
            policy: &StatePolicy::default(),
            prev: &prev,
            link: None,
        };
        decide(&prepared, result, ran, Utc::now())
    }

    #[tokio::test]
    async fn a_firing_alert_is_recorded_then_sent_to_each_channel_once() {
        let decision = decide_any_rows(&one_row(), Ok(()));
        assert_eq!(decision.error, None);
        assert!(
            decision.detail.starts_with("Ok -> Firing"),
            "{}",
            decision.detail
        );
        assert_eq!(decision.notes.len(), 1);
        assert_eq!(decision.notes[0].0.kind, NotificationKind::Firing);
        assert_eq!(decision.notes[0].1.alert, "failed orders");

        let channels = ["slack".to_string(), "hook".to_string()];
        // The hook's delivery was recorded by an earlier evaluation of the same tick.
        let store = Memory {
            known: vec![false, true],
            ..Memory::default()
        };
        let now = Utc::now();
        let planned = plan(&decision, &channels);
        assert_eq!(planned.len(), 2);
        let cycle = record_and_deliver(&store, &POLICY, &move || now, &decision, planned)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cycle.delivered.len(), 1);
        assert_eq!(*store.sent.lock().unwrap(), [("slack".to_string(), 1)]);
        let finished = store.finished.lock().unwrap();
        assert_eq!(finished.len(), 1);
        assert_eq!(finished[0].status, DeliveryStatus::Sent);
        assert_eq!(finished[0].tries, 1);
    }

    #[tokio::test]
    async fn a_failed_query_is_an_error_state_not_a_resolution() {
        let decision = decide_any_rows(&Collect::default(), Err("relation does not exist".into()));
        assert_eq!(decision.error.as_deref(), Some("relation does not exist"));
        assert!(decision.detail.contains("Error"), "{}", decision.detail);
        assert!(decision
            .notes
            .iter()
            .all(|(n, _)| n.kind != NotificationKind::Resolved));
    }

    #[tokio::test]
    async fn a_busy_channel_is_tried_now_then_later_then_given_up() {
        let store = Memory::default();
        *store.answers.lock().unwrap() = vec![busy(), busy(), busy(), busy()];
        let message = Message::test("t", None);
        let channel = "hook".to_string();
        let now = Utc::now();
        let clock = move || now;
        let first = attempt(
            &store,
            &POLICY,
            &clock,
            Attempt {
                id: 7,
                channel: &channel,
                message: &message,
                tries_before: 0,
                created_at: now,
            },
        )
        .await;
        assert_eq!(first.status, DeliveryStatus::Pending);
        assert_eq!(first.tries, 2, "tried twice now");
        // The channel asked for a millisecond; that wins over the policy's minute.
        assert_eq!(
            first.next_attempt_at,
            Some(now + chrono::Duration::milliseconds(1))
        );
        let second = attempt(
            &store,
            &POLICY,
            &clock,
            Attempt {
                id: 7,
                channel: &channel,
                message: &message,
                tries_before: 2,
                created_at: now,
            },
        )
        .await;
        assert_eq!(second.status, DeliveryStatus::Failed);
        assert_eq!(
            second.error.as_deref(),
            Some("given up after 4 attempts: delivery failed, will retry: HTTP 503")
        );
        let attempts: Vec<u32> = store.sent.lock().unwrap().iter().map(|s| s.1).collect();
        assert_eq!(attempts, [1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_refused_send_is_not_retried_and_an_old_one_is_given_up() {
        let store = Memory::default();
        *store.answers.lock().unwrap() = vec![busy(), ChannelError::Permanent("HTTP 404".into())];
        let message = Message::test("t", None);
        let channel = "hook".to_string();
        let now = Utc::now();
        let clock = move || now;
        let refused = attempt(
            &store,
            &POLICY,
            &clock,
            Attempt {
                id: 1,
                channel: &channel,
                message: &message,
                tries_before: 0,
                created_at: now,
            },
        )
        .await;
        assert_eq!(refused.status, DeliveryStatus::Failed);
        assert_eq!(refused.tries, 1);
        assert_eq!(refused.error.as_deref(), Some("delivery failed: HTTP 404"));

        let mut once = POLICY;
        once.tries_now = 1;
        let old = attempt(
            &store,
            &once,
            &clock,
            Attempt {
                id: 2,
                channel: &channel,
                message: &message,
                tries_before: 1,
                created_at: now - chrono::Duration::hours(25),
            },
        )
        .await;
        assert_eq!(old.status, DeliveryStatus::Failed);
        assert!(
            old.error
                .as_deref()
                .is_some_and(|e| e.starts_with("given up after 24 hours: ")),
            "{:?}",
            old.error
        );
    }
}
