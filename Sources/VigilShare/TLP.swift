/// A Traffic Light Protocol 2.0 label (FIRST, 2022), most restrictive last.
public enum TLP: Int, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    case clear, green, amber, amberStrict, red

    public init?(label: String) {
        guard let found = Self.allCases.first(where: { $0.description == label }) else { return nil }
        self = found
    }

    /// The label as written on alerts, e.g. `TLP:AMBER+STRICT`.
    public var description: String {
        switch self {
        case .clear: "TLP:CLEAR"
        case .green: "TLP:GREEN"
        case .amber: "TLP:AMBER"
        case .amberStrict: "TLP:AMBER+STRICT"
        case .red: "TLP:RED"
        }
    }

    public static func < (a: TLP, b: TLP) -> Bool { a.rawValue < b.rawValue }

    /// Every label, most restrictive first, for hints in error messages.
    public static let labels = allCases.reversed().map(\.description)
}
