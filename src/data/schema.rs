//! The data contract for CICFlowMeter / Unicauca flow CSVs (see shared/unicauca.md).

/// The 87 columns of `Dataset-Unicauca-Version2-87Atts.csv`, in order.
pub const UNICAUCA_COLUMNS: [&str; 87] = [
    "Flow.ID", "Source.IP", "Source.Port", "Destination.IP", "Destination.Port", "Protocol",
    "Timestamp", "Flow.Duration", "Total.Fwd.Packets", "Total.Backward.Packets",
    "Total.Length.of.Fwd.Packets", "Total.Length.of.Bwd.Packets", "Fwd.Packet.Length.Max",
    "Fwd.Packet.Length.Min", "Fwd.Packet.Length.Mean", "Fwd.Packet.Length.Std",
    "Bwd.Packet.Length.Max", "Bwd.Packet.Length.Min", "Bwd.Packet.Length.Mean",
    "Bwd.Packet.Length.Std", "Flow.Bytes.s", "Flow.Packets.s", "Flow.IAT.Mean", "Flow.IAT.Std",
    "Flow.IAT.Max", "Flow.IAT.Min", "Fwd.IAT.Total", "Fwd.IAT.Mean", "Fwd.IAT.Std", "Fwd.IAT.Max",
    "Fwd.IAT.Min", "Bwd.IAT.Total", "Bwd.IAT.Mean", "Bwd.IAT.Std", "Bwd.IAT.Max", "Bwd.IAT.Min",
    "Fwd.PSH.Flags", "Bwd.PSH.Flags", "Fwd.URG.Flags", "Bwd.URG.Flags", "Fwd.Header.Length",
    "Bwd.Header.Length", "Fwd.Packets.s", "Bwd.Packets.s", "Min.Packet.Length",
    "Max.Packet.Length", "Packet.Length.Mean", "Packet.Length.Std", "Packet.Length.Variance",
    "FIN.Flag.Count", "SYN.Flag.Count", "RST.Flag.Count", "PSH.Flag.Count", "ACK.Flag.Count",
    "URG.Flag.Count", "CWE.Flag.Count", "ECE.Flag.Count", "Down.Up.Ratio", "Average.Packet.Size",
    "Avg.Fwd.Segment.Size", "Avg.Bwd.Segment.Size", "Fwd.Header.Length.1", "Fwd.Avg.Bytes.Bulk",
    "Fwd.Avg.Packets.Bulk", "Fwd.Avg.Bulk.Rate", "Bwd.Avg.Bytes.Bulk", "Bwd.Avg.Packets.Bulk",
    "Bwd.Avg.Bulk.Rate", "Subflow.Fwd.Packets", "Subflow.Fwd.Bytes", "Subflow.Bwd.Packets",
    "Subflow.Bwd.Bytes", "Init_Win_bytes_forward", "Init_Win_bytes_backward", "act_data_pkt_fwd",
    "min_seg_size_forward", "Active.Mean", "Active.Std", "Active.Max", "Active.Min", "Idle.Mean",
    "Idle.Std", "Idle.Max", "Idle.Min", "Label", "L7Protocol", "ProtocolName",
];

/// The flow identifier column; `predict --keep id` keeps it.
pub const ID_COLUMN: &str = "Flow.ID";

/// Default label column.
pub const DEFAULT_LABEL: &str = "ProtocolName";

/// Columns that identify hosts or people. They are never features and never
/// copied into a model file or a report.
pub const PRIVATE_COLUMNS: [&str; 4] = ["Flow.ID", "Source.IP", "Destination.IP", "Timestamp"];

/// Columns that are not features: `Label` is constant, `L7Protocol` is the
/// label in another form (a leak), `ProtocolName` is the target.
pub const NON_FEATURE_COLUMNS: [&str; 3] = ["Label", "L7Protocol", "ProtocolName"];

/// True when a column must never be a feature.
pub fn is_excluded(name: &str) -> bool {
    PRIVATE_COLUMNS.contains(&name) || NON_FEATURE_COLUMNS.contains(&name)
}

/// True when a column's values must never leave the input (model files, reports).
pub fn is_private(name: &str) -> bool {
    PRIVATE_COLUMNS.contains(&name)
}
