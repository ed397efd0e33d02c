//! An order's journey: every step it took, each under the step that caused it, drawn as a tree
//! for the terminal or as a mermaid sequence diagram.

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};

/// One thing that happened to the order: an event stored or published, a workflow's state, a
/// function's invocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// What other steps name as their cause: an event id, or an id made up for the step.
    pub id: String,
    /// The step that caused this one, if it is in the journey.
    pub caused_by: Option<String>,
    pub at: DateTime<Utc>,
    pub took: Option<TimeDelta>,
    /// Where it ran: a function, the payment workflow, the bus.
    pub place: String,
    /// What it did.
    pub what: String,
}

/// The steps of one order's journey, found by its correlation id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journey {
    pub order: String,
    pub correlation_id: String,
    pub steps: Vec<Step>,
}

/// Where a step with no cause in the journey comes from: whoever called the API.
const CALLER: &str = "caller";

impl Journey {
    /// When the journey began: its first step.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.steps.iter().map(|step| step.at).min()
    }

    /// When it ended: the end of its last step.
    pub fn end(&self) -> Option<DateTime<Utc>> {
        self.steps
            .iter()
            .map(|step| step.at + step.took.unwrap_or_default())
            .max()
    }

    /// Each step's children, in time order; the roots (no cause in the journey) under `None`.
    fn children(&self) -> BTreeMap<Option<&str>, Vec<&Step>> {
        let ids: HashSet<&str> = self.steps.iter().map(|step| step.id.as_str()).collect();
        let mut children: BTreeMap<Option<&str>, Vec<&Step>> = BTreeMap::new();
        for step in &self.steps {
            let parent = step
                .caused_by
                .as_deref()
                .filter(|cause| ids.contains(cause) && *cause != step.id);
            children.entry(parent).or_default().push(step);
        }
        for steps in children.values_mut() {
            steps.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        }
        children
    }

    /// Steps in the order the tree shows them, each with its depth and its parent.
    fn walk(&self) -> Vec<(usize, Option<&Step>, &Step, bool)> {
        let children = self.children();
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        fn visit<'a>(
            children: &BTreeMap<Option<&'a str>, Vec<&'a Step>>,
            parent: Option<&'a Step>,
            depth: usize,
            seen: &mut HashSet<&'a str>,
            out: &mut Vec<(usize, Option<&'a Step>, &'a Step, bool)>,
        ) {
            let key = parent.map(|p| p.id.as_str());
            let Some(steps) = children.get(&key) else {
                return;
            };
            for (n, step) in steps.iter().enumerate() {
                // A step that names itself through a cycle of causes is shown once.
                if !seen.insert(step.id.as_str()) {
                    continue;
                }
                out.push((depth, parent, *step, n + 1 == steps.len()));
                visit(children, Some(step), depth + 1, seen, out);
            }
        }
        visit(&children, None, 0, &mut seen, &mut out);
        // Steps caused only by each other (a cycle no real journey has) have no root: each is
        // shown at the top, so that nothing found is left out.
        let mut unreached: Vec<&Step> = self
            .steps
            .iter()
            .filter(|step| !seen.contains(step.id.as_str()))
            .collect();
        unreached.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        for step in unreached {
            if seen.insert(step.id.as_str()) {
                out.push((0, None, step, true));
                visit(&children, Some(step), 1, &mut seen, &mut out);
            }
        }
        out
    }

    /// The journey as a tree: one line per step, its time from the start, where it ran, what it
    /// did and how long it took.
    pub fn tree(&self) -> String {
        let Some(start) = self.start() else {
            return format!("order {}: nothing found\n", self.order);
        };
        let mut text = format!(
            "order {}, correlation {}, from {} ({} steps, {} in all)\n",
            self.order,
            self.correlation_id,
            start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.steps.len(),
            seconds(self.end().unwrap_or(start) - start),
        );
        // For each depth, whether the branch drawn at that depth has more siblings below.
        let mut open: Vec<bool> = Vec::new();
        for (depth, _, step, last) in self.walk() {
            open.truncate(depth);
            let indent: String = open
                .iter()
                .map(|more| if *more { "│  " } else { "   " })
                .collect();
            let branch = if last { "└─ " } else { "├─ " };
            let took = step
                .took
                .map(|took| format!(" ({})", seconds(took)))
                .unwrap_or_default();
            text.push_str(&format!(
                "{indent}{branch}+{} {}: {}{took}\n",
                seconds(step.at - start),
                step.place,
                step.what
            ));
            open.push(!last);
        }
        text
    }

    /// The journey as a mermaid sequence diagram: each step a message from where its cause ran
    /// to where it ran.
    pub fn mermaid(&self) -> String {
        let start = self.start().unwrap_or_default();
        let mut text = String::from("sequenceDiagram\n");
        let walk = self.walk();
        let mut places: Vec<&str> = vec![CALLER];
        for (_, _, step, _) in &walk {
            if !places.contains(&step.place.as_str()) {
                places.push(&step.place);
            }
        }
        for (n, place) in places.iter().enumerate() {
            text.push_str(&format!(
                "    participant P{n} as {}\n",
                mermaid_text(place)
            ));
        }
        let index = |place: &str| places.iter().position(|p| *p == place).unwrap_or(0);
        for (_, parent, step, _) in walk {
            let from = parent.map(|p| p.place.as_str()).unwrap_or(CALLER);
            let took = step
                .took
                .map(|took| format!(" ({})", seconds(took)))
                .unwrap_or_default();
            text.push_str(&format!(
                "    P{}->>P{}: +{} {}{took}\n",
                index(from),
                index(&step.place),
                seconds(step.at - start),
                mermaid_text(&step.what)
            ));
        }
        text
    }
}

/// A duration as seconds with milliseconds: `1.250s`.
fn seconds(delta: TimeDelta) -> String {
    format!("{:.3}s", delta.num_milliseconds() as f64 / 1000.0)
}

/// Text a mermaid message or name can hold: its separators (`;`, `:`, `#`) replaced.
fn mermaid_text(text: &str) -> String {
    text.replace([';', '#'], ",").replace(':', " -")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_800_000_000_000 + ms).unwrap()
    }

    fn step(id: &str, caused_by: Option<&str>, ms: i64, place: &str, what: &str) -> Step {
        Step {
            id: id.into(),
            caused_by: caused_by.map(str::to_owned),
            at: at(ms),
            took: None,
            place: place.into(),
            what: what.into(),
        }
    }

    fn completed_order() -> Journey {
        let mut charge = step("exec/Charge", Some("exec"), 1_100, "payment", "Charge");
        charge.took = Some(TimeDelta::milliseconds(250));
        Journey {
            order: "c.102".into(),
            correlation_id: "corr".into(),
            steps: vec![
                step(
                    "e3",
                    Some("e2"),
                    2_000,
                    "update-order",
                    "OrderCompleted v1 stored",
                ),
                step(
                    "e1",
                    Some("request"),
                    0,
                    "create-order",
                    "OrderCreated v3 stored",
                ),
                step(
                    "e1/published",
                    Some("e1"),
                    800,
                    "outbox-processor",
                    "published",
                ),
                step("exec", Some("e1"), 1_000, "payment workflow", "execution"),
                charge,
                step(
                    "e2",
                    Some("exec"),
                    1_500,
                    "payment workflow",
                    "PaymentSucceeded v1",
                ),
            ],
        }
    }

    #[test]
    fn the_tree_puts_each_step_under_its_cause_in_time_order() {
        assert_eq!(
            completed_order().tree(),
            "order c.102, correlation corr, from 2027-01-15T08:00:00.000Z (6 steps, 2.000s in all)\n\
             └─ +0.000s create-order: OrderCreated v3 stored\n\
             \u{20}  ├─ +0.800s outbox-processor: published\n\
             \u{20}  └─ +1.000s payment workflow: execution\n\
             \u{20}     ├─ +1.100s payment: Charge (0.250s)\n\
             \u{20}     └─ +1.500s payment workflow: PaymentSucceeded v1\n\
             \u{20}        └─ +2.000s update-order: OrderCompleted v1 stored\n"
        );
    }

    #[test]
    fn the_diagram_sends_each_step_from_where_its_cause_ran() {
        let diagram = completed_order().mermaid();
        assert!(diagram.starts_with("sequenceDiagram\n    participant P0 as caller\n"));
        assert!(diagram.contains("    participant P1 as create-order\n"));
        assert!(diagram.contains("    P0->>P1: +0.000s OrderCreated v3 stored\n"));
        assert!(diagram.contains("    P3->>P4: +1.100s Charge (0.250s)\n"));
        assert!(diagram.contains("    P3->>P5: +2.000s OrderCompleted v1 stored\n"));
    }

    #[test]
    fn a_step_whose_cause_is_not_in_the_journey_is_a_root() {
        let journey = Journey {
            order: "o".into(),
            correlation_id: "c".into(),
            steps: vec![
                step("a", Some("elsewhere"), 0, "f", "x"),
                step("b", None, 5, "g", "y"),
            ],
        };
        let tree = journey.tree();
        assert!(
            tree.contains("├─ +0.000s f: x\n└─ +0.005s g: y\n"),
            "{tree}"
        );
    }

    #[test]
    fn steps_that_cause_each_other_are_each_shown_once() {
        let journey = Journey {
            order: "o".into(),
            correlation_id: "c".into(),
            steps: vec![
                step("a", None, 0, "f", "x"),
                step("b", Some("c"), 1, "f", "y"),
                step("c", Some("b"), 2, "f", "z"),
            ],
        };
        let tree = journey.tree();
        assert_eq!(tree.lines().count(), 4, "{tree}");
        assert!(tree.contains("f: y") && tree.contains("f: z"), "{tree}");
    }

    #[test]
    fn mermaid_separators_in_text_are_replaced() {
        assert_eq!(mermaid_text("a: b; c #1"), "a - b, c ,1");
    }
}
