import Testing

extension Collection {
    /// The element `offset` places from the start, or a failure of the calling test when the
    /// collection is shorter: a test that expects a line that is not there fails alone,
    /// instead of trapping on the index and ending the whole run.
    func element(at offset: Int, sourceLocation: SourceLocation = #_sourceLocation) throws -> Element {
        try #require(offset >= 0 && offset < count ? self[index(startIndex, offsetBy: offset)] : nil,
                     "no element \(offset): there are \(count)", sourceLocation: sourceLocation)
    }
}
