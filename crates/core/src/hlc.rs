//! Hybrid logical clock: every change carries one, so a later sync service or a bundle merge can
//! order edits made on different devices without trusting their wall clocks.
//! Text form `PPPPPPPPPPPPP-CCCC-DEVICE` sorts in causal order as plain text.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hlc {
    pub millis: u64,
    pub counter: u32,
}

impl Hlc {
    pub fn parse(text: &str) -> Option<Hlc> {
        let mut parts = text.split('-');
        let millis = parts.next()?.parse().ok()?;
        let counter = u32::from_str_radix(parts.next()?, 16).ok()?;
        Some(Hlc { millis, counter })
    }

    /// The next timestamp after `self`, given the wall clock now.
    pub fn tick(self, wall_millis: u64) -> Hlc {
        if wall_millis > self.millis {
            Hlc { millis: wall_millis, counter: 0 }
        } else {
            Hlc { millis: self.millis, counter: self.counter + 1 }
        }
    }

    pub fn render(&self, device: &str) -> String {
        format!("{:013}-{:04x}-{device}", self.millis, self.counter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_goes_backwards_when_the_wall_clock_does() {
        let a = Hlc::default().tick(1_000);
        let b = a.tick(900);
        let c = b.tick(2_000);
        assert!(a < b && b < c);
        assert!(a.render("d") < b.render("d"));
        assert_eq!(Hlc::parse(&b.render("dev")), Some(b));
    }
}
