/// One control total of an outbound file, as its manifest lists it: the control's name in
/// the spec and its value as canonical text (a count `12`, an amount `12,000.00`).
public struct ControlTotalValue: Sendable, Codable, Equatable, Hashable {
    /// The control's name in the spec.
    public let name: String
    /// The computed value, as reckon prints it.
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
