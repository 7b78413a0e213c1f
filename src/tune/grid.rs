//! The C x gamma search grid, on a log2 scale as libsvm's grid.py: a coarse
//! pass over the whole range, then a finer one around the best cell.

use crate::error::{Error, Result};

/// Values of one axis, as log2 exponents.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub begin: f64,
    pub end: f64,
    pub step: f64,
}

/// The largest log2 exponent of a grid axis (libsvm's own grid spans -15..15).
const MAX_EXPONENT: f64 = 100.0;

impl Axis {
    /// Every exponent from `begin` towards `end` by `step` (end included when reached).
    pub fn values(&self) -> Vec<f64> {
        if self.step == 0.0 || self.begin == self.end {
            return vec![self.begin];
        }
        let n = ((self.end - self.begin) / self.step + 1e-9).floor() as i64;
        (0..=n.max(0)).map(|i| self.begin + i as f64 * self.step).collect()
    }
}

/// The coarse grid: `log2 C` and `log2 gamma` axes.
#[derive(Clone, Debug, PartialEq)]
pub struct Grid {
    pub log2c: Axis,
    pub log2g: Axis,
}

impl Default for Grid {
    /// libsvm grid.py's defaults: log2 C from -5 to 15 by 2, log2 gamma from 3 to -15 by -2.
    fn default() -> Self {
        Grid {
            log2c: Axis { begin: -5.0, end: 15.0, step: 2.0 },
            log2g: Axis { begin: 3.0, end: -15.0, step: -2.0 },
        }
    }
}

impl std::str::FromStr for Grid {
    type Err = Error;

    /// `c=BEGIN:END:STEP,gamma=BEGIN:END:STEP` (log2 exponents; either axis
    /// may be left out to keep its default, or given one value: `c=3`).
    fn from_str(s: &str) -> Result<Grid> {
        let mut grid = Grid::default();
        let bad = |why: &str| Error::input(format!("--grid '{s}': {why} (expected e.g. c=-5:15:2,gamma=3:-15:-2, log2 exponents)"));
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, spec) = part.split_once('=').ok_or_else(|| bad(&format!("'{part}' has no '='")))?;
            let nums: Vec<f64> = spec
                .split(':')
                .map(|v| v.trim().parse::<f64>().ok().filter(|v| v.is_finite()))
                .collect::<Option<_>>()
                .ok_or_else(|| bad(&format!("'{spec}' is not numbers separated by ':'")))?;
            let axis = match nums[..] {
                [v] => Axis { begin: v, end: v, step: 0.0 },
                [b, e, st] => {
                    if st == 0.0 && b != e {
                        return Err(bad("a step of 0"));
                    }
                    if b != e && (e - b).signum() != st.signum() {
                        return Err(bad(&format!("step {st} does not lead from {b} to {e}")));
                    }
                    Axis { begin: b, end: e, step: st }
                }
                _ => return Err(bad(&format!("'{spec}' needs one value or BEGIN:END:STEP"))),
            };
            if axis.values().len() > 200 {
                return Err(bad("more than 200 values on one axis"));
            }
            // 2^2000 is infinite and 2^-2000 zero: neither is a C or a gamma.
            if let Some(v) = axis.values().into_iter().find(|v| v.abs() > MAX_EXPONENT) {
                return Err(bad(&format!("exponent {v} is outside -{MAX_EXPONENT}..{MAX_EXPONENT}")));
            }
            match name.trim().to_ascii_lowercase().as_str() {
                "c" | "log2c" => grid.log2c = axis,
                "gamma" | "g" | "log2g" => grid.log2g = axis,
                other => return Err(bad(&format!("unknown axis '{other}' (c or gamma)"))),
            }
        }
        Ok(grid)
    }
}

impl Grid {
    /// Every `(log2 C, log2 gamma)` of the coarse pass.
    pub fn coarse(&self) -> Vec<(f64, f64)> {
        let cs = self.log2c.values();
        self.log2g.values().into_iter().flat_map(|g| cs.iter().map(move |&c| (c, g))).collect()
    }

    /// The fine pass around `(c, g)`: half a coarse step either side, in
    /// quarter steps (5 x 5 points, fewer on a single-valued axis), the
    /// centre excluded (the coarse pass scored it).
    pub fn fine(&self, c: f64, g: f64) -> Vec<(f64, f64)> {
        let around = |v: f64, step: f64| -> Vec<f64> {
            if step == 0.0 {
                return vec![v];
            }
            let q = step.abs() / 4.0;
            (-2..=2).map(|i| v + i as f64 * q).collect()
        };
        let cs = around(c, self.log2c.step);
        around(g, self.log2g.step)
            .into_iter()
            .flat_map(|gv| cs.iter().map(move |&cv| (cv, gv)))
            .filter(|&(cv, gv)| (cv, gv) != (c, g))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_grid_is_grid_py() {
        let g = Grid::default();
        assert_eq!(g.log2c.values(), vec![-5.0, -3.0, -1.0, 1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0]);
        assert_eq!(g.log2g.values().len(), 10);
        assert_eq!(g.log2g.values()[9], -15.0);
        assert_eq!(g.coarse().len(), 110);
        let fine = g.fine(3.0, -5.0);
        assert_eq!(fine.len(), 24);
        assert!(fine.contains(&(2.0, -6.0)) && fine.contains(&(4.0, -4.0)) && !fine.contains(&(3.0, -5.0)));
    }

    #[test]
    fn grid_flag_parses_and_rejects() {
        let g: Grid = "c=1:5:2, gamma=-3".parse().unwrap();
        assert_eq!(g.log2c.values(), vec![1.0, 3.0, 5.0]);
        assert_eq!(g.log2g.values(), vec![-3.0]);
        assert_eq!(g.fine(3.0, -3.0).len(), 4);
        for bad in ["c=1:5:-1", "c=1:5:0", "x=1", "c=a", "c=1:2", "c", "gamma=2000:2000:1", "c=-1100"] {
            let e = bad.parse::<Grid>().unwrap_err().to_string();
            assert!(e.contains("--grid"), "{bad}: {e}");
        }
    }
}
