//! Writing a [`SimulationReport`] to a directory: `report.json` (everything but the
//! per-container records), `summary.json`, CSV files and the self-contained `report.html`.

pub(crate) mod csv;
pub(crate) mod html;
pub mod svg;

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::metrics::{
    QueueSummary, RunSummary, SchedulerDescription, SimulationReport, WorkloadDescription,
};

/// The headline part of a report, for a quick read or a dashboard.
#[derive(Serialize)]
struct Summary<'a> {
    scheduler: &'a SchedulerDescription,
    workload: &'a WorkloadDescription,
    summary: &'a RunSummary,
    queues: &'a [QueueSummary],
}

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot encode the report as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The report as compact JSON (what `report.json` holds; its time series make it large).
pub fn report_json(report: &SimulationReport) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string(report)?;
    text.push('\n');
    Ok(text)
}

/// The HTML report's text.
pub fn report_html(report: &SimulationReport) -> String {
    html::report_html(report)
}

/// Writes every output file into `out_dir` (created if missing); returns their paths.
pub fn write_report(
    report: &SimulationReport,
    out_dir: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let mut summary = serde_json::to_string_pretty(&Summary {
        scheduler: &report.scheduler,
        workload: &report.workload,
        summary: &report.summary,
        queues: &report.queues,
    })?;
    summary.push('\n');
    let files = [
        ("report.html", report_html(report)),
        ("report.json", report_json(report)?),
        ("summary.json", summary),
        ("jobs.csv", csv::jobs_csv(report)),
        ("cluster.csv", csv::cluster_csv(report)),
        ("queues.csv", csv::queues_csv(report)),
        ("applications.csv", csv::applications_csv(report)),
        ("containers.csv", csv::containers_csv(report)),
        ("latency_percentiles.csv", csv::latency_csv(report)),
    ];
    write_files(out_dir, files)
}

/// Creates `out_dir` if missing and writes each (name, text) into it; returns their paths.
pub fn write_files<'a>(
    out_dir: &Path,
    files: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out_dir).map_err(|source| ReportError::Write {
        path: out_dir.to_path_buf(),
        source,
    })?;
    files
        .into_iter()
        .map(|(name, text)| write_file(out_dir, name, &text))
        .collect()
}

/// Writes `text` to `out_dir/name`.
pub fn write_file(out_dir: &Path, name: &str, text: &str) -> Result<PathBuf, ReportError> {
    let path = out_dir.join(name);
    std::fs::write(&path, text).map_err(|source| ReportError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(path)
}
