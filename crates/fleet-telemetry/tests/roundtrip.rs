//! Property tests: every point the writer accepts parses back to itself, in every precision,
//! and the parsers never panic on arbitrary input.

use fleet_telemetry::line_protocol::{
    parse_body, write_points, FieldValue, Limits, Point, Precision,
};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    // Printable text including every character line protocol escapes, and some non-ASCII.
    proptest::string::string_regex(r#"[a-zA-Z0-9 ,="\\#._:/µé-]{1,12}"#).unwrap()
}

fn field_value() -> impl Strategy<Value = FieldValue> {
    prop_oneof![
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(FieldValue::Float),
        any::<i64>().prop_map(FieldValue::Integer),
        any::<u64>().prop_map(FieldValue::Unsigned),
        any::<bool>().prop_map(FieldValue::Boolean),
        proptest::string::string_regex(r#"[a-zA-Z0-9 ,="\\#]{0,12}"#)
            .unwrap()
            .prop_map(FieldValue::String),
    ]
}

fn point() -> impl Strategy<Value = Point> {
    (
        text().prop_filter("no comment", |m| !m.starts_with('#')),
        proptest::collection::vec((text(), text()), 0..4),
        proptest::collection::vec((text(), field_value()), 1..5),
        proptest::option::of(-4_000_000_000_000_000_000i64..4_000_000_000_000_000_000i64),
    )
        .prop_map(|(measurement, tags, fields, timestamp)| Point {
            measurement,
            tags,
            fields,
            timestamp,
        })
}

fn truncate(ts: Option<i64>, p: Precision) -> Option<i64> {
    let m = match p {
        Precision::Ns => 1,
        Precision::Us => 1_000,
        Precision::Ms => 1_000_000,
        Precision::S => 1_000_000_000,
    };
    ts.map(|t| t / m * m)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn written_points_parse_back(
        points in proptest::collection::vec(point(), 1..6),
        precision in prop_oneof![Just(Precision::Ns), Just(Precision::Us), Just(Precision::Ms), Just(Precision::S)],
    ) {
        let body = write_points(&points, precision).expect("writable");
        let parsed = parse_body(body.as_bytes(), precision, &Limits::default());
        prop_assert!(parsed.errors.is_empty(), "{:?}\n{}", parsed.errors, body);
        let want: Vec<Point> = points
            .into_iter()
            .map(|mut p| { p.timestamp = truncate(p.timestamp, precision); p })
            .collect();
        prop_assert_eq!(parsed.points, want);
    }

    #[test]
    fn line_protocol_parser_never_panics(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let parsed = parse_body(&body, Precision::Ns, &Limits::default());
        prop_assert!(parsed.errors.iter().all(|e| e.line >= 1));
    }

    #[test]
    fn prometheus_parser_never_panics(text in "[a-zA-Z_{}=\",# .0-9\\\\\n+-]{0,300}") {
        let _ = fleet_telemetry::prometheus::parse(&text);
    }

    #[test]
    fn kmsg_parser_never_panics(line in "[0-9,;:()\\[\\] a-zA-Z.=']{0,120}") {
        let _ = fleet_telemetry::kmsg::parse_line(&format!("NVRM: Xid {line}"));
        let _ = fleet_telemetry::kmsg::parse_line(&line);
    }

    #[test]
    fn rule_parser_never_panics(expr in "[a-zA-Z_(){}\\[\\]=!~<>\" 0-9.,*+-]{0,80}") {
        let _ = fleet_telemetry::rules::parse_expr(&expr);
    }
}
