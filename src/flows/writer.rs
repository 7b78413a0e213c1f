//! Flows as rows of the Unicauca schema: the 84 columns of the contract,
//! then the label columns (empty without labels).

use std::io::Write;

use super::features::{Flow, Value};
use super::ndpi::Label;
use crate::data::schema::UNICAUCA_COLUMNS;
use crate::error::Result;

pub struct FlowWriter<W: Write> {
    out: csv::Writer<W>,
    pub rows: u64,
}

impl<W: Write> FlowWriter<W> {
    pub fn new(out: W) -> Result<Self> {
        let mut out = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(out);
        out.write_record(UNICAUCA_COLUMNS).map_err(anyhow::Error::from)?;
        Ok(FlowWriter { out, rows: 0 })
    }

    /// Writes `f`, with its label columns when it has a label.
    pub fn write(&mut self, f: &Flow, label: Option<&Label>) -> Result<()> {
        let mut rec: Vec<String> = vec![
            f.id.clone(),
            f.src.to_string(),
            f.src_port.to_string(),
            f.dst.to_string(),
            f.dst_port.to_string(),
            f.protocol.to_string(),
            timestamp(f.start),
        ];
        rec.extend(f.features().into_iter().map(|v| match v {
            Value::Int(i) => i.to_string(),
            Value::Real(x) => format!("{x:?}"),
        }));
        match label {
            Some(l) => rec.extend(["BENIGN".to_string(), l.id.to_string(), l.name.clone()]),
            None => rec.extend(["".to_string(), "".to_string(), "".to_string()]),
        }
        self.out.write_record(&rec).map_err(anyhow::Error::from)?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<()> {
        self.out.flush()?;
        Ok(())
    }
}

/// V3's `dd/MM/yyyyhh:mm:ss`: a 12-hour clock without AM/PM, no space, UTC.
pub fn timestamp(micros: i64) -> String {
    let secs = micros.div_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (h, mi, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    let h12 = if h % 12 == 0 { 12 } else { h % 12 };
    format!("{d:02}/{m:02}/{y:04}{h12:02}:{mi:02}:{s:02}")
}

/// Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_v3s() {
        // 2010-07-16 15:39:32 UTC
        assert_eq!(super::timestamp(1_279_294_772_000_000), "16/07/201003:39:32");
        assert_eq!(super::timestamp(0), "01/01/197012:00:00");
    }
}
