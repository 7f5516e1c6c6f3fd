//! `NativeServer.metrics()`: the server's Prometheus families as plain JS objects.
//!
//! Called by lib/metrics.js once per scrape (on the JS thread), which adds the families JS
//! owns and renders the text (or feeds prom-client). Reads the reactors' and the hub's cells
//! (`crate::metrics::families`), the JS thread's own bridge batch sizes, and the process's
//! file descriptors. Nothing here is on a hot path.

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::NativeServer;
use crate::metrics::{bridge_families, process_families, Family};

/// One metric family, renderer-neutral (lib/metrics.js renders it).
#[napi(object)]
pub struct JsMetricFamily {
    pub name: String,
    pub help: String,
    /// "counter" | "gauge" | "histogram"
    #[napi(js_name = "type")]
    pub kind: String,
    /// The label names; each sample's `labels` are their values, in this order.
    pub label_names: Vec<String>,
    /// Histograms: the buckets' upper bounds (`+Inf` implied); empty otherwise.
    pub bounds: Vec<f64>,
    pub samples: Vec<JsMetricSample>,
}

/// One sample, or one histogram series (`value` is then its count).
#[napi(object)]
pub struct JsMetricSample {
    pub labels: Vec<String>,
    pub value: f64,
    /// Histograms: cumulative counts, one per bound.
    pub buckets: Option<Vec<f64>>,
    /// Histograms: the sum of the observations.
    pub sum: Option<f64>,
}

fn to_js(f: Family) -> JsMetricFamily {
    let histogram = !f.bounds.is_empty();
    JsMetricFamily {
        name: f.name.to_string(),
        help: f.help.to_string(),
        kind: f.kind.as_str().to_string(),
        label_names: f.labels.iter().map(|s| s.to_string()).collect(),
        bounds: f.bounds,
        samples: f
            .samples
            .into_iter()
            .map(|s| JsMetricSample {
                labels: s.labels.into_iter().map(|l| l.into_owned()).collect(),
                value: s.value,
                buckets: histogram.then_some(s.buckets),
                sum: histogram.then_some(s.sum),
            })
            .collect(),
    }
}

#[napi]
impl NativeServer {
    /// The server's metric families, read now: connections, closes by code, rejections by
    /// status, traffic, hub and fan-out figures and histograms (merged over reactors), the
    /// napi bridge's batch sizes, and the process's open file descriptors and limit.
    #[napi]
    pub fn metrics(&self) -> Result<Vec<JsMetricFamily>> {
        let mut families = self.running(|s| s.metric_families())?;
        families.extend(bridge_families(&self.bridge));
        families.extend(process_families(
            crate::sys::open_fds(),
            crate::sys::fd_limit(),
        ));
        Ok(families.into_iter().map(to_js).collect())
    }
}
