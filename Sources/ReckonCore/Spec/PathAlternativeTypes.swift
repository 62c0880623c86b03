/// XML fields whose path alternatives carry their own types: `path: [{path: BookgDt/Dt,
/// type: date}, {path: BookgDt/DtTm, type: datetime}]` reads a `Dt` as a date and a `DtTm`
/// as a date-time. A field without its own `type` has the first alternative's.
enum PathAlternativeTypes {
    /// The path texts of `path:`, whether written as text or as `{path:, type:, format:}`.
    static func texts(_ node: SpecNode) throws(SpecError) -> [String] {
        if node.isScalar { return [try node.string()] }
        var texts: [String] = []
        for item in try node.items() {
            if item.isScalar {
                texts.append(try item.string())
            } else {
                texts.append(try item.mapping(allowed: ["path", "type", "format"]).required("path").string())
            }
        }
        return texts
    }

    /// The field with a field spec per typed alternative (``FieldSpec/alternativeFields``).
    static func apply(_ field: FieldSpec, pathNode: SpecNode?, hasOwnType: Bool) throws(SpecError) -> FieldSpec {
        guard let pathNode, !pathNode.isScalar else { return field }
        var types: [FieldType?] = []
        for item in try pathNode.items() {
            guard !item.isScalar else { types.append(nil); continue }
            let map = try item.mapping(allowed: ["path", "type", "format"])
            guard let typeNode = map["type"] else {
                if let format = map["format"] { throw format.error("give the alternative's type with its format") }
                types.append(nil)
                continue
            }
            let name = try typeNode.string()
            let content: DateTimeFormat.Content
            switch name {
            case "string":
                if let format = map["format"] { throw format.error("'format' does not apply to a string") }
                types.append(.string)
                continue
            case "date": content = .date
            case "time": content = .time
            case "datetime": content = .dateTime
            default: throw typeNode.error("a path alternative's type is string, date, time or datetime")
            }
            let formatNode = try map.required("format")
            let format: DateTimeFormat
            do {
                format = try DateTimeFormat(pattern: try formatNode.string(), content: content)
            } catch let error as DateTimeFormatError {
                throw formatNode.error(error.description)
            } catch {
                throw formatNode.error("\(error)")
            }
            types.append(content == .date ? .date(format) : content == .time ? .time(format) : .dateTime(format))
        }
        guard types.contains(where: { $0 != nil }) else { return field }
        if field.codes != nil || field.extract != nil { throw pathNode.error("typed path alternatives do not combine with codes or extract") }
        let base = hasOwnType ? field : field.copy(source: field.source, type: types.first(where: { $0 != nil })!!)
        let alternatives = types.map { type in type.map { base.copy(source: base.source, type: $0) } }
        return base.copy(source: base.source, type: base.type, alternativeFields: alternatives)
    }
}
