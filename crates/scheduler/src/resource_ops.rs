//! Resource arithmetic on the allocation path, inlined: memory and vcores directly when
//! neither side has extra resource types (the common case), `Resource`'s own methods otherwise.

use spindle_types::Resource;

pub(crate) trait InlineArithmetic {
    /// `self += amount`.
    fn add_inline(&mut self, amount: &Resource);
    /// `self -= amount`.
    fn sub_inline(&mut self, amount: &Resource);
    /// Every type of `request` fits in `self` (as [`Resource::fits`]).
    fn fits_inline(&self, request: &Resource) -> bool;
}

impl InlineArithmetic for Resource {
    #[inline]
    fn add_inline(&mut self, amount: &Resource) {
        if self.others().is_empty() && amount.others().is_empty() {
            self.memory_mb += amount.memory_mb;
            self.vcores += amount.vcores;
        } else {
            self.add_assign(amount);
        }
    }

    #[inline]
    fn sub_inline(&mut self, amount: &Resource) {
        if self.others().is_empty() && amount.others().is_empty() {
            self.memory_mb -= amount.memory_mb;
            self.vcores -= amount.vcores;
        } else {
            self.sub_assign(amount);
        }
    }

    #[inline]
    fn fits_inline(&self, request: &Resource) -> bool {
        if request.others().is_empty() {
            request.memory_mb <= self.memory_mb && request.vcores <= self.vcores
        } else {
            self.fits(request)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spindle_types::resource::GPU;

    #[test]
    fn inline_arithmetic_agrees_with_the_resource_methods() {
        let plain = Resource::new(1024, 2);
        let gpus = Resource::new(512, 1).with(GPU, 2);
        for (a, b) in [
            (&plain, &plain),
            (&plain, &gpus),
            (&gpus, &plain),
            (&gpus, &gpus),
        ] {
            let mut sum = a.clone();
            sum.add_inline(b);
            assert_eq!(sum, a.add(b));
            let mut difference = a.clone();
            difference.sub_inline(b);
            assert_eq!(difference, a.sub(b));
            assert_eq!(a.fits_inline(b), a.fits(b));
        }
    }
}
