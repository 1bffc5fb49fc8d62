//! A report as CSV, XLSX (rust_xlsxwriter) and a printable, self-contained HTML page with an SVG
//! chart. The same rows in each, so an independent reader of one can check the others.

use std::fmt::Write as _;

use crate::error::{Error, Result};
use crate::report::{CategoryRow, Count, FacetRow, Report, YearsRow};

/// The report in one of the export formats: csv, xlsx, html or json.
pub fn render(report: &Report, format: &str) -> Result<Vec<u8>> {
    Ok(match format {
        "csv" => to_csv(report).into_bytes(),
        "xlsx" => to_xlsx(report)?,
        "html" => to_html(report, "Monitoring report").into_bytes(),
        "json" => {
            let mut text = serde_json::to_string_pretty(report)?;
            text.push('\n');
            text.into_bytes()
        }
        other => {
            return Err(Error::InvalidInput(format!("'{other}' is not a report format; use json, csv, xlsx or html.")))
        }
    })
}

fn count_text(c: &Count) -> String {
    match c {
        Count::Exact(n) => n.to_string(),
        Count::Suppressed(s) => s.clone(),
    }
}

fn opt_text(c: &Option<Count>) -> String {
    c.as_ref().map(count_text).unwrap_or_default()
}

const CATEGORY_HEADER: [&str; 10] =
    ["section", "code", "label", "level", "count", "previous", "change", "ratio", "wording", "approximate"];

fn category_cells(r: &CategoryRow) -> [String; 10] {
    [
        "category".into(),
        r.code.clone(),
        r.label.clone(),
        r.depth.to_string(),
        count_text(&r.count),
        opt_text(&r.previous),
        r.change.map(|c| c.to_string()).unwrap_or_default(),
        r.ratio.map(|x| format!("{x:.2}")).unwrap_or_default(),
        r.wording.clone().unwrap_or_default(),
        count_text(&r.approximate),
    ]
}

fn years_text(y: Option<f64>) -> String {
    y.map(|y| format!("{y}")).unwrap_or_default()
}

/// The legal-track figures as (section, code, label, count, years, years_max) rows, the same in
/// every format.
/// (section, code, label, people or count, years, years at the upper ends of ranges).
type LegalRow = (&'static str, String, String, Count, Option<f64>, Option<f64>);

fn legal_rows(report: &Report) -> Vec<LegalRow> {
    let l = &report.legal;
    let mut rows = vec![
        ("custody", "in_custody".into(), format!("In custody on {}", l.custody_on), l.in_custody.clone(), None, None),
        (
            "custody",
            "in_custody_uncertain".into(),
            "of whom dates uncertain".into(),
            l.in_custody_uncertain.clone(),
            None,
            None,
        ),
    ];
    for r in &l.custody_by_kind {
        rows.push(("custody_kind", r.code.clone(), r.label.clone(), r.count.clone(), None, None));
    }
    rows.push((
        "administrative_arrest",
        "people".into(),
        "Administrative arrests handed down (people)".into(),
        l.administrative_arrests.clone(),
        None,
        None,
    ));
    rows.push((
        "administrative_arrest",
        "days".into(),
        "Administrative arrest days (upper ends of ranges in the next row)".into(),
        Count::Exact(l.administrative_arrest_days),
        None,
        None,
    ));
    rows.push((
        "administrative_arrest",
        "days_max".into(),
        "Administrative arrest days, upper ends".into(),
        Count::Exact(l.administrative_arrest_days_max),
        None,
        None,
    ));
    rows.push((
        "prison",
        "total".into(),
        "Sentenced to imprisonment (people, years)".into(),
        l.prison_sentences.clone(),
        l.prison_years,
        l.prison_years_max,
    ));
    let add = |rows: &mut Vec<_>, section: &'static str, list: &[YearsRow]| {
        for r in list {
            rows.push((section, r.code.clone(), r.label.clone(), r.people.clone(), r.years, r.years_max));
        }
    };
    add(&mut rows, "prison_by_charge", &l.prison_years_by_charge);
    add(&mut rows, "prison_by_region", &l.prison_years_by_region);
    rows
}

fn facets(report: &Report) -> [(&'static str, &Vec<FacetRow>); 4] {
    [
        ("region", &report.regions),
        ("victim_type", &report.victim_types),
        ("perpetrator_type", &report.perpetrator_types),
        ("medium", &report.media),
    ]
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// One table: the period's totals, the categories, then each breakdown (`section` says which).
pub fn to_csv(report: &Report) -> String {
    let mut out = String::new();
    let mut line = |cells: &[String]| {
        out.push_str(&cells.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    };
    line(&CATEGORY_HEADER.map(str::to_string));
    let empty = String::new;
    for (code, value, previous) in [
        ("incidents", &report.incidents, &report.previous_incidents),
        ("approximate", &report.approximate, &None),
        ("victims", &report.victims, &None),
        ("undated", &report.undated, &None),
    ] {
        line(&[
            "total".into(),
            code.into(),
            code.into(),
            "0".into(),
            count_text(value),
            opt_text(previous),
            empty(),
            empty(),
            empty(),
            empty(),
        ]);
    }
    for w in &report.wider {
        line(&[
            "wider_period".into(),
            crate::date::span_text(&w.from.to_string(), &w.to.to_string()),
            format!("dated only {} – {} (not counted above)", w.from, w.to),
            "0".into(),
            count_text(&w.incidents),
            empty(),
            empty(),
            empty(),
            empty(),
            empty(),
        ]);
    }
    for row in &report.categories {
        line(&category_cells(row));
    }
    for (section, rows) in facets(report) {
        for r in rows {
            line(&[
                section.into(),
                r.code.clone(),
                r.label.clone(),
                "0".into(),
                count_text(&r.count),
                empty(),
                empty(),
                empty(),
                empty(),
                empty(),
            ]);
        }
    }
    // Years go in the ratio and wording columns' places would mislead: they get their own lines
    // with `years` / `years_max` in the label column's neighbours.
    for (section, code, label, count, years, years_max) in legal_rows(report) {
        let years = match (years, years_max) {
            (Some(a), Some(b)) if a != b => format!("{} to {} years", years_text(Some(a)), years_text(Some(b))),
            (Some(a), _) => format!("{} years", years_text(Some(a))),
            _ => String::new(),
        };
        line(&[section.into(), code, label, "0".into(), count_text(&count), empty(), empty(), empty(), years, empty()]);
    }
    for note in &report.notes {
        line(&["note".into(), empty(), note.clone(), "0".into(), empty(), empty(), empty(), empty(), empty(), empty()]);
    }
    out
}

/// Sheets: Summary, Categories, Breakdowns and (unless aggregate-only) Notable cases. Counts are
/// numbers; suppressed ones the text "<N".
pub fn to_xlsx(report: &Report) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{Format, Workbook};
    let fail = |e: rust_xlsxwriter::XlsxError| Error::Storage(format!("could not write the spreadsheet: {e}"));
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let put_count = |sheet: &mut rust_xlsxwriter::Worksheet, row: u32, col: u16, c: &Count| match c {
        Count::Exact(n) => sheet.write_number(row, col, *n as f64).map(|_| ()),
        Count::Suppressed(s) => sheet.write_string(row, col, s).map(|_| ()),
    };

    let sheet = book.add_worksheet().set_name("Summary").map_err(fail)?;
    let period = format!("{} – {}", report.from, report.to);
    let previous = match (report.previous_from, report.previous_to) {
        (Some(f), Some(t)) => format!("{f} – {t}"),
        _ => String::new(),
    };
    let scope = match (&report.programme, report.source) {
        (Some(p), _) => format!("programme {p}"),
        (None, Some(s)) => format!("events citing source {s}"),
        (None, None) => "all events".into(),
    };
    let rows: [(&str, Option<&Count>, String); 7] = [
        ("Period", None, period),
        ("Compared with", None, previous),
        ("Counted", None, scope),
        ("Incidents", Some(&report.incidents), String::new()),
        ("of which approximately dated", Some(&report.approximate), String::new()),
        ("Victims", Some(&report.victims), String::new()),
        ("Undated in the period", Some(&report.undated), String::new()),
    ];
    for (i, (name, count, text)) in rows.iter().enumerate() {
        sheet.write_string_with_format(i as u32, 0, *name, &bold).map_err(fail)?;
        match count {
            Some(c) => put_count(sheet, i as u32, 1, c).map_err(fail)?,
            None => sheet.write_string(i as u32, 1, text).map(|_| ()).map_err(fail)?,
        }
    }
    let mut next = rows.len() as u32;
    if let Some(p) = &report.previous_incidents {
        let name = if report.comparison.as_deref() == Some("previous_period") {
            "Incidents in the period before"
        } else {
            "Incidents a year earlier"
        };
        sheet.write_string_with_format(next, 0, name, &bold).map_err(fail)?;
        put_count(sheet, next, 1, p).map_err(fail)?;
        next += 1;
    }
    for note in &report.notes {
        sheet.write_string_with_format(next, 0, "Note", &bold).map_err(fail)?;
        sheet.write_string(next, 1, note).map_err(fail)?;
        next += 1;
    }
    sheet.set_column_width(0, 26).map_err(fail)?;

    let sheet = book.add_worksheet().set_name("Categories").map_err(fail)?;
    for (col, name) in CATEGORY_HEADER.iter().skip(1).enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold).map_err(fail)?;
    }
    for (i, r) in report.categories.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, &r.code).map_err(fail)?;
        sheet.write_string(row, 1, format!("{}{}", "  ".repeat(r.depth as usize), r.label)).map_err(fail)?;
        sheet.write_number(row, 2, r.depth as f64).map_err(fail)?;
        put_count(sheet, row, 3, &r.count).map_err(fail)?;
        if let Some(p) = &r.previous {
            put_count(sheet, row, 4, p).map_err(fail)?;
        }
        if let Some(c) = r.change {
            sheet.write_number(row, 5, c as f64).map_err(fail)?;
        }
        if let Some(x) = r.ratio {
            sheet.write_number(row, 6, x).map_err(fail)?;
        }
        if let Some(w) = &r.wording {
            sheet.write_string(row, 7, w).map_err(fail)?;
        }
        put_count(sheet, row, 8, &r.approximate).map_err(fail)?;
    }
    sheet.set_column_width(1, 60).map_err(fail)?;

    let sheet = book.add_worksheet().set_name("Breakdowns").map_err(fail)?;
    for (col, name) in ["section", "code", "label", "count"].iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold).map_err(fail)?;
    }
    let mut row = 1;
    for (section, rows) in facets(report) {
        for r in rows {
            sheet.write_string(row, 0, section).map_err(fail)?;
            sheet.write_string(row, 1, &r.code).map_err(fail)?;
            sheet.write_string(row, 2, &r.label).map_err(fail)?;
            put_count(sheet, row, 3, &r.count).map_err(fail)?;
            row += 1;
        }
    }

    for w in &report.wider {
        sheet.write_string(row, 0, "wider_period").map_err(fail)?;
        sheet.write_string(row, 1, crate::date::span_text(&w.from.to_string(), &w.to.to_string())).map_err(fail)?;
        sheet.write_string(row, 2, format!("dated only {} – {} (not counted)", w.from, w.to)).map_err(fail)?;
        put_count(sheet, row, 3, &w.incidents).map_err(fail)?;
        row += 1;
    }

    let sheet = book.add_worksheet().set_name("Legal track").map_err(fail)?;
    for (col, name) in ["section", "code", "label", "people", "years", "years_max"].iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, *name, &bold).map_err(fail)?;
    }
    for (i, (section, code, label, count, years, years_max)) in legal_rows(report).into_iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, section).map_err(fail)?;
        sheet.write_string(row, 1, code).map_err(fail)?;
        sheet.write_string(row, 2, label).map_err(fail)?;
        put_count(sheet, row, 3, &count).map_err(fail)?;
        for (col, y) in [(4, years), (5, years_max)] {
            if let Some(y) = y {
                sheet.write_number(row, col, y).map_err(fail)?;
            }
        }
    }
    sheet.set_column_width(2, 50).map_err(fail)?;

    if !report.aggregate_only {
        let sheet = book.add_worksheet().set_name("Notable cases").map_err(fail)?;
        for (col, name) in ["date", "title", "summary", "categories", "record"].iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, *name, &bold).map_err(fail)?;
        }
        for (i, n) in report.notable.iter().enumerate() {
            let row = i as u32 + 1;
            sheet.write_string(row, 0, &n.date).map_err(fail)?;
            sheet.write_string(row, 1, &n.title).map_err(fail)?;
            sheet.write_string(row, 2, &n.summary).map_err(fail)?;
            sheet.write_string(row, 3, n.categories.join("; ")).map_err(fail)?;
            sheet.write_string(row, 4, n.id.to_string()).map_err(fail)?;
        }
    }
    book.save_to_buffer().map_err(fail)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn number(c: &Count) -> u64 {
    match c {
        Count::Exact(n) => *n,
        Count::Suppressed(_) => 0,
    }
}

/// A printable page: no scripts, no external resources; the chart is inline SVG.
pub fn to_html(report: &Report, title: &str) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title><style>\
         body{{font-family:sans-serif;max-width:60rem;margin:2rem auto;color:#222}}\
         table{{border-collapse:collapse;width:100%;margin:1rem 0}}td,th{{border-bottom:1px solid #ccc;padding:.25rem .5rem;text-align:left}}\
         td.n{{text-align:right}}.d1{{padding-left:1.5rem}}.d2{{padding-left:3rem}}@media print{{body{{margin:0}}}}\
         </style></head><body><h1>{t}</h1><p>{from} – {to}",
        t = escape(title),
        from = report.from,
        to = report.to
    );
    if let (Some(f), Some(t)) = (report.previous_from, report.previous_to) {
        let _ = write!(h, ", compared with {f} – {t}");
    }
    let before =
        if report.comparison.as_deref() == Some("previous_period") { "the period before" } else { "a year earlier" };
    if let Some(p) = &report.programme {
        let _ = write!(h, "; programme {}", escape(p));
    }
    let _ = write!(
        h,
        "</p><p>Incidents: <strong>{}</strong>{}{}. Victims: {}. Undated within the period: {}.</p>",
        count_text(&report.incidents),
        match &report.approximate {
            Count::Exact(0) => String::new(),
            a => format!(", of which {} approximately dated (~)", count_text(a)),
        },
        report.previous_incidents.as_ref().map(|p| format!(" ({before}: {})", count_text(p))).unwrap_or_default(),
        count_text(&report.victims),
        count_text(&report.undated)
    );
    for note in &report.notes {
        let _ = write!(h, "<p class=\"note\">{}</p>", escape(note));
    }
    h.push_str(&svg_chart(report));
    h.push_str("<h2>By category</h2><table><tr><th>Category</th><th>Count</th><th>of which ~dated</th>");
    let compare = report.previous_from.is_some();
    if compare {
        let _ = write!(
            h,
            "<th>{}</th><th>Change</th>",
            if before == "a year earlier" { "A year earlier" } else { "The period before" }
        );
    }
    h.push_str("</tr>");
    for r in &report.categories {
        let _ = write!(
            h,
            "<tr><td class=\"d{}\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            r.depth.min(2),
            escape(&r.label),
            count_text(&r.count),
            match &r.approximate {
                Count::Exact(0) => String::new(),
                a => format!("~{}", count_text(a)),
            }
        );
        if compare {
            let _ = write!(
                h,
                "<td class=\"n\">{}</td><td>{}</td>",
                opt_text(&r.previous),
                escape(r.wording.as_deref().unwrap_or(""))
            );
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
    for (name, (_, rows)) in ["By region", "By victim", "By perpetrator", "By medium"].iter().zip(facets(report)) {
        if rows.is_empty() {
            continue;
        }
        let _ = write!(h, "<h2>{name}</h2><table>");
        for r in rows {
            let _ = write!(h, "<tr><td>{}</td><td class=\"n\">{}</td></tr>", escape(&r.label), count_text(&r.count));
        }
        h.push_str("</table>");
    }
    h.push_str("<h2>Legal track</h2><table>");
    for (_, _, label, count, years, years_max) in legal_rows(report) {
        let years = match (years, years_max) {
            (Some(a), Some(b)) if a != b => format!("{a} to {b} years"),
            (Some(a), _) => format!("{a} years"),
            _ => String::new(),
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&label),
            count_text(&count),
            years
        );
    }
    h.push_str("</table>");
    if !report.notable.is_empty() {
        h.push_str("<h2>Notable cases</h2><ul>");
        for n in &report.notable {
            let _ = write!(
                h,
                "<li><strong>{}</strong> {} — {}</li>",
                escape(&n.date),
                escape(&n.title),
                escape(&n.summary)
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("</body></html>\n");
    h
}

/// Horizontal bars for the top two levels: this period, and a year earlier in grey.
fn svg_chart(report: &Report) -> String {
    let rows: Vec<&CategoryRow> = report.categories.iter().filter(|r| r.depth <= 2).collect();
    let max = rows
        .iter()
        .map(|r| number(&r.count).max(r.previous.as_ref().map(number).unwrap_or(0)))
        .max()
        .unwrap_or(1)
        .max(1);
    let (label_w, bar_w, row_h) = (360.0, 380.0, 22.0);
    let mut s = format!(
        "<svg role=\"img\" aria-label=\"Incidents by category\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-size=\"12\">",
        w = label_w + bar_w + 60.0,
        h = row_h * rows.len() as f64 + 10.0
    );
    for (i, r) in rows.iter().enumerate() {
        let y = i as f64 * row_h + 4.0;
        let width = |n: u64| n as f64 / max as f64 * bar_w;
        let _ = write!(
            s,
            "<text x=\"{x}\" y=\"{ty}\">{label}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{cw:.1}\" height=\"9\" fill=\"#2b6cb0\"/>",
            x = 4.0 + 12.0 * r.depth as f64,
            ty = y + 12.0,
            label = escape(&r.label.chars().take(48).collect::<String>()),
            cw = width(number(&r.count)),
        );
        if let Some(p) = &r.previous {
            let _ = write!(
                s,
                "<rect x=\"{label_w}\" y=\"{py}\" width=\"{pw:.1}\" height=\"6\" fill=\"#aaa\"/>",
                py = y + 10.0,
                pw = width(number(p))
            );
        }
        let _ = write!(
            s,
            "<text x=\"{tx}\" y=\"{ty}\">{n}</text>",
            tx = label_w + bar_w + 8.0,
            ty = y + 12.0,
            n = count_text(&r.count)
        );
    }
    s.push_str("</svg>");
    s
}
