use super::*;

#[test]
fn requant_multiplier_is_in_range_and_close() {
    for real in [1e-9, 1.847e-3, 0.25, 0.5, 0.999_999_999_9, 1.0, 3.7, 1e6] {
        let (m, s) = requant_multiplier(real).expect("representable");
        assert!((1 << 30..=i32::MAX).contains(&m), "{real}: {m}");
        assert!((1..=62).contains(&s), "{real}: {s}");
        let approx = f64::from(m) / 2f64.powi(i32::from(s));
        assert!((approx - real).abs() / real < 1e-9, "{real}: {approx}");
    }
}

#[test]
fn requant_multiplier_rounds_half_up_and_renormalizes() {
    // Just below 1: real * 2^31 rounds up to 2^31, which becomes 2^30 >> 30.
    assert_eq!(
        requant_multiplier(1.0 - 2f64.powi(-40)),
        Some((1 << 30, 30))
    );
    assert_eq!(requant_multiplier(0.5), Some((1 << 30, 31)));
    assert_eq!(requant_multiplier(0.0), None);
    assert_eq!(requant_multiplier(f64::NAN), None);
    assert_eq!(requant_multiplier(2f64.powi(31)), None);
    // Tiny ratios keep shift 62 with a smaller multiplier.
    assert_eq!(requant_multiplier(2f64.powi(-40)), Some((1 << 22, 62)));
}

#[test]
fn add_multipliers_share_one_shift() {
    let (ma, mb, s) = add_multipliers(0.3, 1.2).expect("representable");
    let k = 2f64.powi(i32::from(s));
    assert!((f64::from(ma) / k - 0.3).abs() < 1e-8);
    assert!((f64::from(mb) / k - 1.2).abs() < 1e-8);
    assert!(mb >= 1 << 30);
}

#[test]
fn scale_fraction_round_trips_to_31_bits() {
    for scale in [1.0 / 255.0, 0.248_255_3, 1.0, 3e-7, 1234.5] {
        let f = scale_fraction(scale).expect("representable");
        assert!(f.multiplier >= 1 << 31);
        assert!((scale_value(&f) - scale).abs() / scale < 1e-9);
    }
    assert_eq!(scale_fraction(0.0), None);
    assert_eq!(scale_fraction(2f64.powi(33)), None);
}

#[test]
fn activation_params_cover_the_range_with_zero_exact() {
    let p = params_from_range(0.0, 2.55);
    assert_eq!(p.zero_point, -128);
    assert!((p.scale - 0.01).abs() < 1e-12);
    let p = params_from_range(-1.0, 1.0);
    assert_eq!(p.zero_point, 0);
    // A positive-only range is widened to include 0.
    assert_eq!(params_from_range(0.5, 1.0).zero_point, -128);
}
