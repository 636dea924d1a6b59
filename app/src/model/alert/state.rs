//! The alert state machine (Grafana's Ok/Pending/Firing/NoData/Error): from an evaluation and
//! the previous states to the next states and the notifications that go out, with pending
//! time, cooldown and mute. Pure; time comes in as an argument.
use super::rule::{Evaluation, Outcome};
use crate::model::words::stored_words;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Grafana's alert states.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    #[default]
    Ok,
    /// The condition holds but not yet for `pending_for` evaluations.
    Pending,
    Firing,
    NoData,
    Error,
}

// The word the store and the logs keep for a state (the wire keeps the serde name).
stored_words!(AlertState, "alert state", {
    Ok => "Ok",
    Pending => "Pending",
    Firing => "Firing",
    NoData => "NoData",
    Error => "Error",
});

/// How states advance and when notifications go out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StatePolicy {
    /// Consecutive evaluations the condition must hold before Firing; 0 and 1 fire at once.
    #[serde(default)]
    pub pending_for: u32,
    /// Re-arm delay against flapping: after a Resolved notification, no Firing notification
    /// goes out before this many seconds have passed. The state still turns Firing; if it is
    /// still Firing once the cooldown is over, Firing is sent then; if it resolved meanwhile,
    /// neither Firing nor Resolved is sent.
    #[serde(default)]
    pub cooldown_secs: u64,
    /// Until then notifications are not sent but counted in [`InstanceState::muted`]; states
    /// still advance. A Firing held back by a mute is sent after it if still Firing.
    #[serde(default)]
    pub mute_until: Option<DateTime<Utc>>,
    /// Send a NoData notification on entering NoData.
    #[serde(default)]
    pub notify_no_data: bool,
}

impl StatePolicy {
    fn muted(&self, now: DateTime<Utc>) -> bool {
        self.mute_until.is_some_and(|until| now < until)
    }

    fn cooling_down(&self, state: &InstanceState, now: DateTime<Utc>) -> bool {
        let secs = i64::try_from(self.cooldown_secs).unwrap_or(i64::MAX);
        let cooldown = Duration::try_seconds(secs).unwrap_or(Duration::MAX);
        state
            .resolved_at
            .is_some_and(|at| now.signed_duration_since(at) < cooldown)
    }
}

/// The remembered state of one alert instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InstanceState {
    pub state: AlertState,
    /// When the instance entered `state`.
    #[serde(default)]
    pub since: Option<DateTime<Utc>>,
    /// Consecutive evaluations in which the condition held.
    #[serde(default)]
    pub streak: u32,
    /// The Firing notification of the current episode went out (kept through Error and
    /// NoData), so a Resolved will follow.
    #[serde(default)]
    pub notified: bool,
    /// When the last Resolved happened: the start of the cooldown.
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// Notifications suppressed by a mute.
    #[serde(default)]
    pub muted: u32,
    /// The last number the condition looked at.
    #[serde(default)]
    pub observed: Option<f64>,
    /// The last error message or no-data reason.
    #[serde(default)]
    pub message: Option<String>,
}

/// Why a notification is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    Firing,
    Resolved,
    Error,
    NoData,
    Digest,
}

stored_words!(NotificationKind, "notification kind", {
    Firing => "firing",
    Resolved => "resolved",
    Error => "error",
    NoData => "no_data",
    Digest => "digest",
});

/// Where a delivery of a notification to one channel stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    Pending,
    Sent,
    Failed,
}

stored_words!(DeliveryStatus, "delivery status", {
    Pending => "pending",
    Sent => "sent",
    Failed => "failed",
});

/// How one attempt at a delivery ended: sent, pending again with a retry time, or given up.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryOutcome {
    pub id: i64,
    pub status: DeliveryStatus,
    pub error: Option<String>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Sends this attempt made.
    pub tries: u32,
}

/// A notification to send to the alert's channels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    pub kind: NotificationKind,
    /// The `per_row` instance key; `None` for the alert as a whole.
    #[serde(default)]
    pub instance: Option<String>,
    pub observed: Option<f64>,
    /// The error message or no-data reason.
    #[serde(default)]
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

/// Advances one instance by one evaluation and says what to send, if anything.
///
/// Resolved is sent only when a Firing instance whose Firing was sent turns Ok through a
/// successful evaluation. Firing → Error (or NoData) → Ok sends no Resolved; Firing → Error →
/// holds again goes back to Firing without a second Firing notification.
/// Error (and NoData, when asked for) is sent once on entering the state, not on repeats.
pub fn step(
    prev: &InstanceState,
    outcome: &Outcome,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> (InstanceState, Option<Notification>) {
    let mut next = InstanceState {
        observed: outcome.observed().or(prev.observed),
        message: None,
        ..prev.clone()
    };
    let kind = match outcome {
        Outcome::Error { message } => {
            next.message = Some(message.clone());
            on_unhealthy(&mut next, AlertState::Error);
            (prev.state != AlertState::Error).then_some(NotificationKind::Error)
        }
        Outcome::NoData { reason } => {
            next.message = Some(reason.clone());
            on_unhealthy(&mut next, AlertState::NoData);
            let entering = prev.state != AlertState::NoData;
            (entering && policy.notify_no_data).then_some(NotificationKind::NoData)
        }
        Outcome::Digest { .. } => {
            on_ok(&mut next);
            Some(NotificationKind::Digest)
        }
        Outcome::Checked { holds: false, .. } => on_clear(prev, &mut next, now),
        Outcome::Checked { holds: true, .. } => on_hold(prev, &mut next, policy, now),
    };
    if next.state != prev.state || prev.since.is_none() {
        next.since = Some(now);
    }
    let note = kind.and_then(|kind| send(&mut next, kind, policy, now));
    (next, note)
}

/// Error and NoData: the streak breaks; Firing is not resolved.
fn on_unhealthy(next: &mut InstanceState, state: AlertState) {
    next.state = state;
    next.streak = 0;
}

fn on_ok(next: &mut InstanceState) {
    next.state = AlertState::Ok;
    next.streak = 0;
    next.notified = false;
}

/// The condition no longer holds: Firing → Ok resolves.
fn on_clear(
    prev: &InstanceState,
    next: &mut InstanceState,
    now: DateTime<Utc>,
) -> Option<NotificationKind> {
    on_ok(next);
    let resolves = prev.state == AlertState::Firing && prev.notified;
    if resolves {
        next.resolved_at = Some(now);
    }
    resolves.then_some(NotificationKind::Resolved)
}

/// The condition holds: Pending until the streak is long enough, then Firing.
fn on_hold(
    prev: &InstanceState,
    next: &mut InstanceState,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> Option<NotificationKind> {
    next.streak = prev.streak.saturating_add(1);
    // An episode interrupted by Error/NoData carries on without a new pending period.
    let resumes = prev.notified && matches!(prev.state, AlertState::Error | AlertState::NoData);
    let firing =
        prev.state == AlertState::Firing || resumes || next.streak >= policy.pending_for.max(1);
    next.state = if firing {
        AlertState::Firing
    } else {
        AlertState::Pending
    };
    let announce = firing && !prev.notified && !policy.cooling_down(prev, now);
    announce.then_some(NotificationKind::Firing)
}

/// Builds the notification, or counts it as muted.
fn send(
    next: &mut InstanceState,
    kind: NotificationKind,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> Option<Notification> {
    if policy.muted(now) {
        next.muted = next.muted.saturating_add(1);
        return None;
    }
    if kind == NotificationKind::Firing {
        next.notified = true;
    }
    Some(Notification {
        kind,
        instance: None,
        observed: next.observed,
        message: next.message.clone(),
        at: now,
    })
}

/// The states of one alert: the alert as a whole, and its `per_row` instances by key.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AlertStates {
    /// For `per_row` rules this only tracks whether the query and rule work (Ok, Error,
    /// NoData): firing happens per instance. A new alert stores `{}`: everything Ok.
    #[serde(default)]
    pub rule: InstanceState,
    #[serde(default)]
    pub instances: BTreeMap<String, InstanceState>,
}

/// Advances an alert by one evaluation, for every rule kind.
///
/// For `per_row`, new keys start Ok; keys missing from a successful result resolve (and are
/// forgotten once Ok and out of cooldown). When the result cannot be read at all, the one
/// Error/NoData notification comes from the alert as a whole, and instances turn Error/NoData
/// quietly, so they will not send a Resolved for that.
pub fn step_alert(
    prev: &AlertStates,
    eval: &Evaluation,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> (AlertStates, Vec<Notification>) {
    let Some(found) = &eval.instances else {
        let (rule, note) = step(&prev.rule, &eval.outcome, policy, now);
        // Instances follow silently (no mute counts either): the alert already says it.
        let quiet = StatePolicy::default();
        let instances = prev
            .instances
            .iter()
            .map(|(k, s)| (k.clone(), step(s, &eval.outcome, &quiet, now).0))
            .collect();
        return (AlertStates { rule, instances }, note.into_iter().collect());
    };
    let healthy = Outcome::Checked {
        holds: false,
        observed: eval.outcome.observed(),
    };
    let (rule, note) = step(&prev.rule, &healthy, policy, now);
    let (instances, mut notes) = step_instances(&prev.instances, found, policy, now);
    if let Some(note) = note {
        notes.insert(0, note);
    }
    (AlertStates { rule, instances }, notes)
}

/// Steps a map of instance key → state with the outcomes of one successful `per_row`
/// evaluation. New keys start Ok; keys not in `found` resolve.
pub fn step_instances(
    prev: &BTreeMap<String, InstanceState>,
    found: &BTreeMap<String, Outcome>,
    policy: &StatePolicy,
    now: DateTime<Utc>,
) -> (BTreeMap<String, InstanceState>, Vec<Notification>) {
    let gone = Outcome::Checked {
        holds: false,
        observed: None,
    };
    let keys: std::collections::BTreeSet<&String> = prev.keys().chain(found.keys()).collect();
    let mut states = BTreeMap::new();
    let mut notes = Vec::new();
    for key in keys {
        let before = prev.get(key).cloned().unwrap_or_default();
        let outcome = found.get(key).unwrap_or(&gone);
        let (after, note) = step(&before, outcome, policy, now);
        notes.extend(note.map(|n| Notification {
            instance: Some(key.clone()),
            ..n
        }));
        let forget = !found.contains_key(key)
            && after.state == AlertState::Ok
            && !policy.cooling_down(&after, now);
        if !forget {
            states.insert(key.clone(), after);
        }
    }
    (states, notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::alert::rule::{
        checked,
        tests::{ints, n_col, threshold},
    };
    use crate::model::alert::*;
    use chrono::TimeZone;

    fn t(minute: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap() + Duration::minutes(minute)
    }

    fn yes() -> Outcome {
        checked(true, Some(60.0))
    }
    fn no() -> Outcome {
        checked(false, Some(40.0))
    }
    fn err() -> Outcome {
        Outcome::query_failed("relation \"x\" does not exist")
    }
    fn empty() -> Outcome {
        Outcome::NoData {
            reason: "the query returned no rows".into(),
        }
    }

    use AlertState as S;
    use NotificationKind as K;

    /// Runs outcomes one minute apart; returns (state, notification kind) after each.
    fn run(
        policy: &StatePolicy,
        outcomes: &[Outcome],
    ) -> Vec<(AlertState, Option<NotificationKind>)> {
        let mut state = InstanceState::default();
        outcomes
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let (next, note) = step(&state, o, policy, t(i as i64));
                state = next;
                (state.state, note.map(|n| n.kind))
            })
            .collect()
    }

    /// Outcomes in short: `y` holds, `n` does not, `e` query error, `d` no data, `g` digest.
    fn outcomes(script: &str) -> Vec<Outcome> {
        let outcome = |c: &str| match c {
            "y" => yes(),
            "n" => no(),
            "e" => err(),
            "d" => empty(),
            _ => Outcome::Digest { row_count: 3 },
        };
        script.split_whitespace().map(outcome).collect()
    }

    /// Steps in short: the state (`o` Ok, `p` Pending, `f` Firing, `d` NoData, `e` Error), then
    /// `!` and the notification sent (`F` Firing, `R` Resolved, `E` Error, `N` NoData, `D` Digest).
    fn render(steps: &[(AlertState, Option<NotificationKind>)]) -> String {
        let step = |(state, note): &(AlertState, Option<NotificationKind>)| {
            let s = match state {
                S::Ok => "o",
                S::Pending => "p",
                S::Firing => "f",
                S::NoData => "d",
                S::Error => "e",
            };
            let n = match note {
                None => "",
                Some(K::Firing) => "!F",
                Some(K::Resolved) => "!R",
                Some(K::Error) => "!E",
                Some(K::NoData) => "!N",
                Some(K::Digest) => "!D",
            };
            format!("{s}{n}")
        };
        steps.iter().map(step).collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn state_machine_sequences() {
        let plain = StatePolicy::default();
        let once = StatePolicy {
            pending_for: 1,
            ..StatePolicy::default()
        };
        let pending3 = StatePolicy {
            pending_for: 3,
            ..StatePolicy::default()
        };
        let no_data = StatePolicy {
            notify_no_data: true,
            ..StatePolicy::default()
        };
        // (behaviour, policy, outcomes, steps)
        #[rustfmt::skip]
        let table = [
            ("fires at once, resolves", &plain, "n y y n n", "o f!F f o!R o"),
            ("pending_for 1 is the same as 0", &once, "y n", "f!F o!R"),
            ("pending for three evaluations", &pending3, "y y y y n", "p p f!F f o!R"),
            ("pending that clears is silent", &pending3, "y y n", "p p o"),
            ("interrupted pending starts over", &pending3, "y y n y y y", "p p o p p f!F"),
            ("error during pending starts over", &pending3, "y y e y y", "p p e!E p p"),
            ("error while firing never resolves", &plain, "y e e n n", "f!F e!E e o o"),
            ("firing resumes after an error", &pending3, "y y y e y n", "p p f!F e!E f o!R"),
            ("failing query sends one Error", &plain, "e e e e", "e!E e e e"),
            ("new failure after recovery", &plain, "e n e", "e!E o e!E"),
            ("no data is silent by default", &plain, "y d d n", "f!F d d o"),
            ("no data notifies once if asked", &no_data, "d d n d", "d!N d o d!N"),
            ("digest every successful run", &plain, "g g e e g", "o!D o!D e!E e o!D"),
        ];
        for (behaviour, policy, script, want) in table {
            assert_eq!(render(&run(policy, &outcomes(script))), want, "{behaviour}");
        }
    }

    #[test]
    fn flapping_within_cooldown_sends_no_storm() {
        let policy = StatePolicy {
            cooldown_secs: 30 * 60,
            ..StatePolicy::default()
        };
        // Condition oscillates every minute for an hour.
        let outcomes: Vec<Outcome> = (0..60)
            .map(|i| if i % 2 == 0 { yes() } else { no() })
            .collect();
        let sent: Vec<(usize, NotificationKind)> = run(&policy, &outcomes)
            .into_iter()
            .enumerate()
            .filter_map(|(i, (_, k))| k.map(|k| (i, k)))
            .collect();
        // Fired at 0, resolved at 1; re-armed only once 30 minutes after that Resolved.
        assert_eq!(
            sent,
            vec![
                (0, K::Firing),
                (1, K::Resolved),
                (32, K::Firing),
                (33, K::Resolved)
            ]
        );

        // Without a cooldown the same input is a storm.
        let storm = run(&StatePolicy::default(), &outcomes)
            .iter()
            .filter(|(_, k)| k.is_some())
            .count();
        assert_eq!(storm, 60);
    }

    #[test]
    fn firing_held_by_cooldown_is_sent_when_it_ends() {
        let policy = StatePolicy {
            cooldown_secs: 5 * 60,
            ..StatePolicy::default()
        };
        let outcomes = [yes(), no(), yes(), yes(), yes(), yes(), yes(), yes(), no()];
        let got = run(&policy, &outcomes);
        assert_eq!(
            got[2],
            (S::Firing, None),
            "state turns Firing during the cooldown"
        );
        assert_eq!(got[5], (S::Firing, None));
        assert_eq!(
            got[6],
            (S::Firing, Some(K::Firing)),
            "5 minutes after the Resolved at minute 1"
        );
        assert_eq!(got[8], (S::Ok, Some(K::Resolved)));
    }

    #[test]
    fn mute_advances_states_but_counts_instead_of_sending() {
        let policy = StatePolicy {
            mute_until: Some(t(3)),
            ..StatePolicy::default()
        };
        let outcomes = [err(), yes(), yes(), yes(), yes(), no()];
        let mut state = InstanceState::default();
        let mut got = Vec::new();
        for (i, o) in outcomes.iter().enumerate() {
            let (next, note) = step(&state, o, &policy, t(i as i64));
            state = next;
            got.push((state.state, note.map(|n| n.kind), state.muted));
        }
        assert_eq!(
            got,
            vec![
                (S::Error, None, 1),
                (S::Firing, None, 2),
                (S::Firing, None, 3),
                // The mute is over and it still fires: Firing goes out now.
                (S::Firing, Some(K::Firing), 3),
                (S::Firing, None, 3),
                (S::Ok, Some(K::Resolved), 3),
            ]
        );
        // Fired and resolved inside the mute: nothing is sent afterwards.
        let got = run(&policy, &[yes(), no(), no(), no(), no()]);
        assert!(got.iter().all(|(_, k)| k.is_none()), "{got:?}");
    }

    #[test]
    fn notifications_carry_the_observed_value_and_message() {
        let (state, note) = step(
            &InstanceState::default(),
            &yes(),
            &StatePolicy::default(),
            t(0),
        );
        assert_eq!(
            note,
            Some(Notification {
                kind: K::Firing,
                instance: None,
                observed: Some(60.0),
                message: None,
                at: t(0)
            })
        );
        assert_eq!(state.since, Some(t(0)));
        let (state, note) = step(&state, &err(), &StatePolicy::default(), t(1));
        let note = note.unwrap();
        assert_eq!(
            note.message.as_deref(),
            Some("relation \"x\" does not exist")
        );
        assert_eq!(note.observed, Some(60.0), "the last value seen is kept");
        assert_eq!(state.since, Some(t(1)));
        let json = serde_json::to_string(&state).unwrap();
        assert_eq!(serde_json::from_str::<InstanceState>(&json).unwrap(), state);
    }

    fn per_row_eval(keys: &[(&str, bool)]) -> Evaluation {
        let instances: BTreeMap<String, Outcome> = keys
            .iter()
            .map(|(k, h)| (k.to_string(), checked(*h, None)))
            .collect();
        let holding = keys.iter().filter(|(_, h)| *h).count();
        Evaluation {
            outcome: checked(holding > 0, Some(holding as f64)),
            instances: Some(instances),
            row_count: keys.len(),
        }
    }

    fn kinds(notes: &[Notification]) -> Vec<(Option<&str>, NotificationKind)> {
        notes
            .iter()
            .map(|n| (n.instance.as_deref(), n.kind))
            .collect()
    }

    #[test]
    fn per_row_instances_appear_and_disappear() {
        let policy = StatePolicy::default();
        let s0 = AlertStates::default();
        let (s1, notes) = step_alert(
            &s0,
            &per_row_eval(&[("a", true), ("b", false)]),
            &policy,
            t(0),
        );
        assert_eq!(kinds(&notes), vec![(Some("a"), K::Firing)]);
        assert_eq!(s1.instances["a"].state, S::Firing);
        assert_eq!(s1.instances["b"].state, S::Ok);
        assert_eq!(s1.rule.state, S::Ok);

        // "c" appears firing, "a" disappears: it resolves and is forgotten; "b" is gone too.
        let (s2, notes) = step_alert(&s1, &per_row_eval(&[("c", true)]), &policy, t(1));
        assert_eq!(
            kinds(&notes),
            vec![(Some("a"), K::Resolved), (Some("c"), K::Firing)]
        );
        assert_eq!(s2.instances.keys().collect::<Vec<_>>(), ["c"]);

        // The query fails: one Error for the alert, instances turn Error quietly.
        let (s3, notes) = step_alert(&s2, &Evaluation::query_failed("timeout"), &policy, t(2));
        assert_eq!(kinds(&notes), vec![(None, K::Error)]);
        assert_eq!(s3.rule.state, S::Error);
        assert_eq!(s3.instances["c"].state, S::Error);

        // Fails again: nothing. Then recovers without "c": no spurious Resolved.
        let (s4, notes) = step_alert(&s3, &Evaluation::query_failed("timeout"), &policy, t(3));
        assert!(notes.is_empty());
        let (s5, notes) = step_alert(&s4, &per_row_eval(&[]), &policy, t(4));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(s5.rule.state, S::Ok);
        assert!(s5.instances.is_empty());
    }

    #[test]
    fn per_row_keeps_resolved_instances_during_cooldown() {
        let policy = StatePolicy {
            cooldown_secs: 600,
            ..StatePolicy::default()
        };
        let (s1, _) = step_alert(
            &AlertStates::default(),
            &per_row_eval(&[("a", true)]),
            &policy,
            t(0),
        );
        let (s2, notes) = step_alert(&s1, &per_row_eval(&[]), &policy, t(1));
        assert_eq!(kinds(&notes), vec![(Some("a"), K::Resolved)]);
        assert_eq!(
            s2.instances["a"].state,
            S::Ok,
            "remembered for its cooldown"
        );
        let (s3, notes) = step_alert(&s2, &per_row_eval(&[("a", true)]), &policy, t(2));
        assert!(
            notes.is_empty(),
            "re-appearing within the cooldown is held back"
        );
        let (s4, _) = step_alert(&s3, &per_row_eval(&[]), &policy, t(3));
        let (s5, _) = step_alert(&s4, &per_row_eval(&[]), &policy, t(20));
        assert!(
            s5.instances.is_empty(),
            "forgotten once the cooldown is over"
        );
    }

    #[test]
    fn single_instance_rules_step_through_step_alert() {
        let policy = StatePolicy::default();
        let rule = threshold(Selector::First, Op::Gt, 50.0);
        let eval = evaluate(&rule, &n_col(), &ints(&[70]));
        let (s1, notes) = step_alert(&AlertStates::default(), &eval, &policy, t(0));
        assert_eq!(kinds(&notes), vec![(None, K::Firing)]);
        assert_eq!(notes[0].observed, Some(70.0));
        assert_eq!(s1.rule.state, S::Firing);
        let eval = evaluate(&rule, &n_col(), &ints(&[10]));
        let (_, notes) = step_alert(&s1, &eval, &policy, t(1));
        assert_eq!(kinds(&notes), vec![(None, K::Resolved)]);
    }
}
