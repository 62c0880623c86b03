/// Warnings (`warn:` on a field): checks whose failure is reported and counted, while the
/// record still passes and posts — an empty currency a partner sometimes leaves out, an
/// amount above what is usual. The value is kept: a warning never changes what is read.
/// A value that does not parse as the field's type is still an error.
enum FieldWarnings {
    /// The checks `warn:` may hold.
    static let keys = ["required", "pattern", "min", "max", "min_length", "max_length"]

    /// A shadow of `field` holding the checks of its `warn:` block, or nil without one.
    static func shadow(_ node: SpecNode?, of field: FieldSpec, checks: SpecMapping,
                       regex: (SpecNode) throws(SpecError) -> SpecRegex,
                       bound: (SpecNode, FieldSpec) throws(SpecError) -> FieldValue) throws(SpecError) -> FieldSpec? {
        guard let node else { return nil }
        let map = try node.mapping(allowed: keys)
        for key in keys where map.has(key) && checks.has(key) {
            throw map[key]!.error("'\(key)' is both a check and a warning; keep one")
        }
        let minLength = try map["min_length"]?.int(in: 0...1_000_000)
        let maxLength = try map["max_length"]?.int(in: 0...1_000_000)
        if let minLength, let maxLength, maxLength < minLength {
            throw map["max_length"]!.error("max_length is below min_length")
        }
        let minimum = try map["min"].map { n throws(SpecError) in try bound(n, field) }
        let maximum = try map["max"].map { n throws(SpecError) in try bound(n, field) }
        if let minimum, let maximum, FieldValueOrder.less(maximum, minimum) {
            throw map["max"]!.error("max is below min")
        }
        return FieldSpec(
            name: field.name, source: field.source, type: field.type, trim: field.trim, strip: field.strip,
            emptyMarkers: field.emptyMarkers, extract: field.extract, required: try map["required"]?.bool() ?? false,
            pattern: try map["pattern"].map { n throws(SpecError) in try regex(n) }, minimum: minimum, maximum: maximum,
            minLength: minLength, maxLength: maxLength, codes: nil, keepUnmappedCodes: false, padding: field.padding)
    }
}
