/// Fields computed from other fields of the record (`combine:`, `sum_of:`), filled in once
/// every field of the record is read. A derived field's slot holds its anchor's raw text
/// until then (see ``DerivedValue``).
extension RecordAssembler {
    mutating func applyDerived(_ kind: RecordKind) {
        for plan in kind.derivedPlans {
            let field = kind.fields[plan.target]
            switch plan.rule {
            case .dateTime(let dateIndex, let formats, let endOfDay):
                combineDateTime(field, target: plan.target, date: dateIndex, dateName: kind.fields[dateIndex].name,
                                formats: formats, endOfDay: endOfDay)
            case .sum(let indexes):
                sum(field, target: plan.target, of: indexes)
            }
        }
    }

    private mutating func combineDateTime(_ field: FieldSpec, target: Int, date dateIndex: Int, dateName: String,
                                          formats: [DateTimeFormat], endOfDay: [[UInt8]]) {
        guard case .text(let offset, let length) = slots[target] else {
            // No time in the record (or a time already refused as its own field): no date-time.
            slots[target] = .empty
            if field.required { problems.append(FieldProblem(field: field.name, rawValue: nil, reason: "required value is missing (no time)")) }
            return
        }
        let time = UnsafeRawBufferPointer(start: arena + Int(offset), count: Int(length))
        let date: CivilDate
        switch slots[dateIndex] {
        case .date(let d): date = d
        case .dateTime(let d): date = d.date
        default:
            slots[target] = .empty
            problems.append(FieldProblem(field: field.name, rawValue: DisplayText.escaped(utf8: time),
                                         reason: "has a time but no date in '\(dateName)'"))
            return
        }
        if endOfDay.contains(where: { $0.elementsEqual(time) }) {
            // The end of the day is the midnight that starts the next one.
            if let next = date.adding(days: 1), let midnight = TimeOfDay(hour: 0, minute: 0, second: 0) {
                slots[target] = .dateTime(DateTime(date: next, time: midnight))
            } else {
                slots[target] = .empty
                problems.append(FieldProblem(field: field.name, rawValue: DisplayText.escaped(utf8: time), reason: "the day after \(date) is out of range"))
            }
            return
        }
        guard let parts = formats.lazy.compactMap({ $0.parse(time) }).first(where: { $0.time != nil }), let clock = parts.time else {
            slots[target] = .empty
            let also = endOfDay.isEmpty ? "" : " or one of " + endOfDay.map { String(decoding: $0, as: UTF8.self) }.joined(separator: ", ")
            let names = formats.map(\.pattern).joined(separator: " or ")
            problems.append(FieldProblem(field: field.name, rawValue: DisplayText.escaped(utf8: time),
                                         reason: "is not a time in the format \(names)\(also)"))
            return
        }
        slots[target] = .dateTime(DateTime(date: date, time: clock, utcOffsetMinutes: parts.utcOffsetMinutes))
    }

    private mutating func sum(_ field: FieldSpec, target: Int, of indexes: [Int]) {
        var total: DecimalAmount?
        var integer: Int64?
        for index in indexes {
            switch slots[index] {
            case .decimal(let amount):
                guard let current = total else { total = amount; continue }
                let (units, overflow) = current.units.addingReportingOverflow(amount.units)
                if overflow {
                    slots[target] = .empty
                    problems.append(FieldProblem(field: field.name, rawValue: nil, reason: "the sum overflows 64 bits"))
                    return
                }
                total = DecimalAmount(units: units, scale: current.scale)
            case .integer(let n):
                let (value, overflow) = (integer ?? 0).addingReportingOverflow(n)
                if overflow {
                    slots[target] = .empty
                    problems.append(FieldProblem(field: field.name, rawValue: nil, reason: "the sum overflows 64 bits"))
                    return
                }
                integer = value
            default:
                continue // An absent value adds nothing.
            }
        }
        if let total { slots[target] = .decimal(total) } else if let integer { slots[target] = .integer(integer) } else {
            // Nothing to add: zero, in the fields' type.
            if case .decimal(let format) = field.type {
                slots[target] = .decimal(DecimalAmount(units: 0, scale: format.scale))
            } else {
                slots[target] = .integer(0)
            }
        }
    }
}
