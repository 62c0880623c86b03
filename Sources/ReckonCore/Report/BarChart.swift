/// A bar chart as inline SVG: no script, no external asset, the same bytes for the same
/// values. Each bar's length is its value's share of the scale (the largest value, or a fixed
/// maximum such as 100%), computed in whole tenths of a pixel rounded half up, so lengths are
/// proportional to the values to within 0.05 px. A chart whose values are all zero draws no
/// bar and says so (``emptyText``); a bar without a value (a day without a run) draws a grey
/// mark on the baseline instead.
public struct BarChart: Sendable {
    public enum Orientation: Sendable {
        /// Bars rise from a baseline, labels under them (buckets, days).
        case vertical
        /// Bars run right from a label column (kinds).
        case horizontal
    }

    public struct Bar: Sendable, Equatable {
        /// Under (vertical) or beside (horizontal) the bar; empty for none.
        public let label: String
        /// Not negative; nil: no data.
        public let value: Int64?
        /// Written at the bar's end (`3`, `93.4%`); empty for none.
        public let valueText: String
        /// Shown when the pointer rests on the bar (an SVG `<title>`).
        public let tooltip: String
        /// A CSS class giving the bar its colour (`bar-age-3`).
        public let tone: String

        public init(label: String, value: Int64?, valueText: String = "", tooltip: String = "", tone: String = "bar") {
            self.label = label
            self.value = value
            self.valueText = valueText
            self.tooltip = tooltip
            self.tone = tone
        }
    }

    /// A line across the plot at a value, labelled at its left (`100%`).
    public struct Gridline: Sendable, Equatable {
        public let value: Int64
        public let label: String

        public init(value: Int64, label: String) {
            self.value = value
            self.label = label
        }
    }

    public let title: String
    public let orientation: Orientation
    public let bars: [Bar]
    /// The value a full-length bar stands for; nil: the largest value.
    public let scaleMaximum: Int64?
    public let gridlines: [Gridline]
    /// Said in the middle of the plot when every value is zero or missing.
    public let emptyText: String
    public let width: Int

    public init(title: String, orientation: Orientation, bars: [Bar], scaleMaximum: Int64? = nil, gridlines: [Gridline] = [],
                emptyText: String, width: Int) {
        self.title = title
        self.orientation = orientation
        self.bars = bars
        self.scaleMaximum = scaleMaximum
        self.gridlines = gridlines
        self.emptyText = emptyText
        self.width = width
    }

    // Geometry in pixels.
    static let verticalHeight = 200
    static let plotTop = 22
    static let labelBand = 24
    static let rowHeight = 26
    static let labelColumn = 190
    static let valueColumn = 130
    static let gridColumn = 40
    /// Room right of a vertical plot, so the last bar's label is not cut.
    static let rightMargin = 16

    /// The scale's maximum: the fixed one, else the largest value; 0 when there is nothing.
    public var scale: Int64 { scaleMaximum ?? bars.compactMap(\.value).max() ?? 0 }

    /// A bar's length in tenths of a pixel for a plot `plotTenths` long: value × plot ÷ scale,
    /// rounded half up; 0 on an empty scale. Values past a fixed scale are drawn full length.
    public static func lengthTenths(_ value: Int64, scale: Int64, plotTenths: Int) -> Int {
        guard scale > 0, value > 0 else { return 0 }
        let clamped = UInt64(min(value, scale))
        // value × plot × 2 + scale, over 2 × scale: in 128 bits, so no amount overflows.
        let product = clamped.multipliedFullWidth(by: UInt64(plotTenths) * 2)
        let (sum, carry) = product.low.addingReportingOverflow(UInt64(scale))
        let dividend = (high: product.high + (carry ? 1 : 0), low: sum)
        let (quotient, _) = (UInt64(scale) * 2).dividingFullWidth(dividend)
        return Int(quotient)
    }

    /// The chart as an `<svg>` element.
    public func svg() -> String {
        switch orientation {
        case .vertical: return verticalSVG()
        case .horizontal: return horizontalSVG()
        }
    }

    private var isEmpty: Bool { scale == 0 || bars.allSatisfy { ($0.value ?? 0) == 0 } }

    private func open(height: Int) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(Markup.text(title))\">"
            + "<title>\(Markup.text(title))</title>"
    }

    private func emptyNote(x: Int, y: Int) -> String {
        "<text class=\"empty\" x=\"\(x)\" y=\"\(y)\" text-anchor=\"middle\">\(Markup.text(emptyText))</text>"
    }

    private func tooltip(_ bar: Bar) -> String {
        bar.tooltip.isEmpty ? "" : "<title>\(Markup.text(bar.tooltip))</title>"
    }

    private func verticalSVG() -> String {
        let height = Self.verticalHeight
        let left = gridlines.isEmpty ? 0 : Self.gridColumn
        let baseline = height - Self.labelBand
        let plotTenths = (baseline - Self.plotTop) * 10
        let right = width - Self.rightMargin
        let slotTenths = bars.isEmpty ? 0 : (right - left) * 10 / bars.count
        let barTenths = slotTenths * 7 / 10
        var svg = open(height: height)
        let scale = self.scale
        for line in gridlines {
            let y = baseline * 10 - Self.lengthTenths(line.value, scale: scale, plotTenths: plotTenths)
            svg += "<line class=\"grid\" x1=\"\(left)\" x2=\"\(right)\" y1=\"\(Markup.tenths(y))\" y2=\"\(Markup.tenths(y))\"/>"
            svg += "<text class=\"axis\" x=\"\(left - 4)\" y=\"\(Markup.tenths(y + 35))\" text-anchor=\"end\">\(Markup.text(line.label))</text>"
        }
        svg += "<line class=\"baseline\" x1=\"\(left)\" x2=\"\(right)\" y1=\"\(baseline)\" y2=\"\(baseline)\"/>"
        for (index, bar) in bars.enumerated() {
            let slotX = left * 10 + index * slotTenths
            let x = slotX + (slotTenths - barTenths) / 2
            let middle = slotX + slotTenths / 2
            svg += "<g>\(tooltip(bar))"
            if let value = bar.value {
                let length = Self.lengthTenths(value, scale: scale, plotTenths: plotTenths)
                if length > 0 {
                    svg += "<rect class=\"\(Markup.text(bar.tone))\" data-value=\"\(value)\" x=\"\(Markup.tenths(x))\" "
                        + "y=\"\(Markup.tenths(baseline * 10 - length))\" width=\"\(Markup.tenths(barTenths))\" height=\"\(Markup.tenths(length))\"/>"
                }
                if !bar.valueText.isEmpty {
                    svg += "<text class=\"value\" x=\"\(Markup.tenths(middle))\" y=\"\(Markup.tenths(baseline * 10 - length - 40))\" "
                        + "text-anchor=\"middle\">\(Markup.text(bar.valueText))</text>"
                }
            } else {
                svg += "<rect class=\"no-data\" x=\"\(Markup.tenths(x))\" y=\"\(baseline - 2)\" width=\"\(Markup.tenths(barTenths))\" height=\"2\"/>"
            }
            if !bar.label.isEmpty {
                svg += "<text class=\"label\" x=\"\(Markup.tenths(middle))\" y=\"\(baseline + 16)\" text-anchor=\"middle\">\(Markup.text(bar.label))</text>"
            }
            svg += "</g>"
        }
        if isEmpty { svg += emptyNote(x: (left + right) / 2, y: (Self.plotTop + baseline) / 2) }
        return svg + "</svg>"
    }

    private func horizontalSVG() -> String {
        let rows = max(bars.count, 1)
        let height = rows * Self.rowHeight + 8
        let plotTenths = (width - Self.labelColumn - Self.valueColumn) * 10
        var svg = open(height: height)
        let scale = self.scale
        svg += "<line class=\"baseline\" x1=\"\(Self.labelColumn)\" x2=\"\(Self.labelColumn)\" y1=\"4\" y2=\"\(height - 4)\"/>"
        for (index, bar) in bars.enumerated() {
            let top = 4 + index * Self.rowHeight
            svg += "<g>\(tooltip(bar))"
            svg += "<text class=\"label\" x=\"\(Self.labelColumn - 8)\" y=\"\(top + 17)\" text-anchor=\"end\">\(Markup.text(bar.label))</text>"
            let length = bar.value.map { Self.lengthTenths($0, scale: scale, plotTenths: plotTenths) } ?? 0
            if let value = bar.value, length > 0 {
                svg += "<rect class=\"\(Markup.text(bar.tone))\" data-value=\"\(value)\" x=\"\(Self.labelColumn)\" y=\"\(top + 4)\" "
                    + "width=\"\(Markup.tenths(length))\" height=\"\(Self.rowHeight - 8)\"/>"
            }
            if !bar.valueText.isEmpty {
                svg += "<text class=\"value\" x=\"\(Markup.tenths(Self.labelColumn * 10 + length + 60))\" y=\"\(top + 17)\">\(Markup.text(bar.valueText))</text>"
            }
            svg += "</g>"
        }
        if isEmpty { svg += emptyNote(x: (Self.labelColumn + width) / 2, y: height / 2 + 4) }
        return svg + "</svg>"
    }
}
