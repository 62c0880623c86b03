/// How an XML spec's kinds become elements (filled in by the XML renderer).
struct XMLRenderPlan: Sendable {
    init(spec: MappingSpec, layout: XMLLayout, header: RecordKind?, trailer: RecordKind?) throws(RenderError) {
        throw RenderError(kind: "-", field: nil, reason: "XML output is not built yet")
    }
}
