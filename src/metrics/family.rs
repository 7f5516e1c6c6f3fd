//! What a scrape returns: metric families as plain data, for one renderer to turn into text.
//!
//! Built by `families.rs` (and the napi bridge's own), converted to JS objects by
//! `node/metrics.rs`; lib/metrics.js renders them as Prometheus text and feeds prom-client.
//! Values are floats already in the exported unit (seconds, bytes, counts).

use std::borrow::Cow;

use super::histogram::Merged;

/// A family's Prometheus type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// One sample (a counter or gauge value), or one histogram series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sample {
    /// Values of the family's labels, in its `labels` order.
    pub(crate) labels: Vec<Cow<'static, str>>,
    /// The value; for a histogram, its count.
    pub(crate) value: f64,
    /// Histograms: cumulative counts, one per bound of the family.
    pub(crate) buckets: Vec<f64>,
    /// Histograms: the sum of the observations.
    pub(crate) sum: f64,
}

impl Sample {
    pub(crate) fn value(v: f64) -> Sample {
        Sample {
            labels: Vec::new(),
            value: v,
            buckets: Vec::new(),
            sum: 0.0,
        }
    }

    pub(crate) fn labelled(labels: Vec<Cow<'static, str>>, v: f64) -> Sample {
        Sample {
            labels,
            ..Sample::value(v)
        }
    }

    /// A merged histogram, its unit divided by `per` into the exported one (1e9: ns → s;
    /// dividing keeps round bounds round: 100 µs shows as 0.0001).
    pub(crate) fn histogram(labels: Vec<Cow<'static, str>>, m: &Merged, per: f64) -> Sample {
        Sample {
            labels,
            value: m.count as f64,
            buckets: m.cumulative.iter().map(|&c| c as f64).collect(),
            sum: m.sum as f64 / per,
        }
    }
}

/// One metric family: its name, help, type, label names and samples.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Family {
    pub(crate) name: &'static str,
    pub(crate) help: &'static str,
    pub(crate) kind: Kind,
    pub(crate) labels: &'static [&'static str],
    /// Histograms: the bucket upper bounds in the exported unit (`+Inf` implied).
    pub(crate) bounds: Vec<f64>,
    pub(crate) samples: Vec<Sample>,
}

impl Family {
    pub(crate) fn new(name: &'static str, kind: Kind, help: &'static str) -> Family {
        Family {
            name,
            help,
            kind,
            labels: &[],
            bounds: Vec::new(),
            samples: Vec::new(),
        }
    }

    /// A family with one unlabelled sample.
    pub(crate) fn single(name: &'static str, kind: Kind, help: &'static str, v: f64) -> Family {
        Family {
            samples: vec![Sample::value(v)],
            ..Family::new(name, kind, help)
        }
    }

    pub(crate) fn with_labels(mut self, labels: &'static [&'static str]) -> Family {
        self.labels = labels;
        self
    }

    /// A histogram family over `bounds` (in the observed unit), shown divided by `per`.
    pub(crate) fn histogram(
        name: &'static str,
        help: &'static str,
        bounds: &[u64],
        per: f64,
    ) -> Family {
        Family {
            bounds: bounds.iter().map(|&b| b as f64 / per).collect(),
            ..Family::new(name, Kind::Histogram, help)
        }
    }

    pub(crate) fn push(&mut self, s: Sample) {
        self.samples.push(s);
    }
}
