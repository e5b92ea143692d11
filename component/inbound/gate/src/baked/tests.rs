use super::*;

fn gate() -> Vec<u8> {
    let mut gate = b"\0asm...code...".to_vec();
    gate.extend_from_slice(MARKER);
    gate.extend(std::iter::repeat_n(b' ', CAPACITY));
    gate.extend_from_slice(b"...more code");
    gate
}

fn region(gate: &[u8]) -> &[u8] {
    let start = gate
        .windows(MARKER.len())
        .position(|w| w == MARKER)
        .unwrap()
        + MARKER.len();
    &gate[start..start + CAPACITY]
}

#[test]
fn baked_settings_read_back_and_the_rest_is_unchanged() {
    let gate = gate();
    let baked = bake(&gate, &[("A", "1"), ("B", "x\"y")]).unwrap();
    assert_eq!(baked.len(), gate.len());
    let settings = read(region(&baked));
    assert_eq!(settings.get("A").map(String::as_str), Some("1"));
    assert_eq!(settings.get("B").map(String::as_str), Some("x\"y"));
    assert!(baked.ends_with(b"...more code"));
}

#[test]
fn an_unbaked_region_reads_as_no_settings() {
    assert!(read(region(&gate())).is_empty());
}

#[test]
fn baking_refuses_a_baked_gate_no_region_and_too_much() {
    let baked = bake(&gate(), &[("A", "1")]).unwrap();
    assert_eq!(bake(&baked, &[("A", "2")]), Err(BakeError::AlreadyBaked));
    assert_eq!(bake(b"\0asm", &[]), Err(BakeError::NoRegion(0)));
    let long = "x".repeat(CAPACITY);
    assert!(matches!(
        bake(&gate(), &[("A", &long)]),
        Err(BakeError::TooLarge(_))
    ));
}
