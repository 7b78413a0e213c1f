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

/// `(ProtocolName, L7Protocol, rows in the full file)` from the data contract.
pub const UNICAUCA_APPS: [(&str, u16, u64); 78] = [
    ("GOOGLE", 126, 959110), ("HTTP", 7, 683734), ("HTTP_PROXY", 131, 623210), ("SSL", 91, 404883),
    ("HTTP_CONNECT", 130, 317526), ("YOUTUBE", 124, 170781), ("AMAZON", 178, 86875),
    ("MICROSOFT", 212, 54710), ("GMAIL", 122, 40260), ("WINDOWS_UPDATE", 147, 34471),
    ("SKYPE", 125, 30657), ("FACEBOOK", 119, 29033), ("DROPBOX", 121, 25102), ("YAHOO", 70, 21268),
    ("TWITTER", 120, 18259), ("CLOUDFLARE", 220, 14737), ("MSN", 68, 14478), ("CONTENT_FLASH", 40, 8589),
    ("APPLE", 140, 7615), ("OFFICE_365", 219, 5941), ("WHATSAPP", 142, 4593), ("INSTAGRAM", 211, 2415),
    ("WIKIPEDIA", 176, 2025), ("MS_ONE_DRIVE", 221, 1748), ("DNS", 5, 1695), ("IP_ICMP", 81, 1631),
    ("NETFLIX", 133, 1560), ("APPLE_ITUNES", 145, 1287), ("SPOTIFY", 156, 1269), ("APPLE_ICLOUD", 143, 1200),
    ("EBAY", 179, 1192), ("SSL_NO_CERT", 64, 856), ("GOOGLE_MAPS", 123, 807), ("EASYTAXI", 203, 705),
    ("TEAMVIEWER", 148, 527), ("HTTP_DOWNLOAD", 60, 516), ("MQTT", 222, 302), ("TOR", 163, 276),
    ("FTP_DATA", 175, 251), ("UBUNTUONE", 169, 249), ("NTP", 9, 135), ("SSH", 92, 102), ("EDONKEY", 36, 95),
    ("WAZE", 135, 79), ("DEEZER", 210, 74), ("UNENCRYPED_JABBER", 67, 45), ("CITRIX_ONLINE", 139, 38),
    ("UPNP", 153, 34), ("TIMMEU", 191, 34), ("TELEGRAM", 185, 33), ("FTP_CONTROL", 1, 25), ("TWITCH", 195, 24),
    ("MSSQL", 114, 21), ("H323", 158, 21), ("CNN", 180, 20), ("LASTFM", 134, 18), ("CITRIX", 132, 17),
    ("ORACLE", 167, 14), ("TEAMSPEAK", 162, 12), ("BGP", 13, 11), ("WHOIS_DAS", 170, 10), ("RTMP", 174, 10),
    ("BITTORRENT", 37, 10), ("SKINNY", 164, 9), ("OPENSIGNAL", 201, 9), ("MAIL_IMAPS", 51, 9), ("OSCAR", 69, 7),
    ("LOTUS_NOTES", 150, 6), ("SIMET", 200, 5), ("RADIUS", 146, 5), ("IP_OSPF", 85, 5), ("SNMP", 14, 4),
    ("OPENVPN", 159, 4), ("STARCRAFT", 213, 3), ("QQ", 48, 2), ("SOCKS", 172, 1), ("NFS", 11, 1), ("99TAXI", 202, 1),
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
