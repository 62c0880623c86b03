import Foundation
import GRDB
import Testing

/// `reckon breaks` on the built binary (issue 10, item 5): listing and showing breaks, text
/// and JSON, the actions with who and when, maker-checker, and the audit of the action log,
/// with their exit statuses.
@Suite("reckon breaks", .serialized)
struct BreaksCommandTests {
    /// A workspace whose ledger holds the sample platform loans, repayments and channel bill
    /// of 2024-12-15, an approval line of 50,000.00, a reconcile run for 2024-12-16 and four
    /// breaks written as the reconcile step writes them: #1 R…0002's amount a cent off, #2
    /// R…0001 missing from the bill, #3 a bill line the platform does not know, #4 a
    /// 60,000.00 transfer missing from the bill.
    final class Desk {
        let folder: ScratchFolder
        let config: String
        let database: String

        init() throws {
            folder = try workspace(repositoryRoot + "/inbox")
            config = folder.path + "/reckon.yaml"
            // The shipped reckon.yaml asks a second person above 50,000.00.
            #expect(try String(contentsOfFile: config, encoding: .utf8).contains("approval_above: \"50,000.00\""))
            let samples = repositoryRoot + "/mappings/samples/partners/"
            for (file, partner, type) in [("PLAT_LOAN_20241115.csv", "platform", "loans"), ("PLAT_REPAY_20241215.csv", "platform", "repayments"),
                                          ("PAY_BILL_20241215.csv", "channel", "bills")] {
                let run = try runReckon(["ingest", samples + file, "--partner", partner, "--type", type, "--config", config])
                #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
            }
            database = folder.path + "/var/reckon.sqlite"
            try write { db in
                func event(_ name: String, _ line: Int) throws -> Int64 {
                    try #require(try Int64.fetchOne(db, sql: """
                        SELECT e.id FROM event e JOIN received_file f ON f.id = e.file_id WHERE f.name = ? AND e.line = ?
                        """, arguments: [name, line]))
                }
                try db.execute(sql: """
                    INSERT INTO recon_run (rule, business_date, partner, ran_at, left_items, right_items, matched, matched_minor, pending,
                        pending_minor, broken, broken_minor) VALUES ('bill', '2024-12-16', 'channel', '2024-12-16T17:00:00Z', 5, 5, 3, 0, 0, 0, 3, 0)
                    """)
                let breaks: [(String, String, Int64, String?, String, [(String, Int64, String)])] = [
                    ("amount", "R202412150002", 351_333,
                     #"[{"name":"amount","left":351333,"right":351334,"delta":1},{"name":"status","left":"SUCCESS","right":"SUCCESS","delta":null}]"#,
                     "R202412150002: the channel's amount is a cent more than ours",
                     [("left", try event("PLAT_REPAY_20241215.csv", 3), "item"), ("right", try event("PAY_BILL_20241215.csv", 3), "counterpart")]),
                    ("missing_theirs", "R202412150001", 104_942, nil, "R202412150001 is not in the channel's bill",
                     [("left", try event("PLAT_REPAY_20241215.csv", 2), "item")]),
                    ("missing_ours", "R202412159999", 104_942, nil, "the channel's R202412159999 is not among our repayments",
                     [("right", try event("PAY_BILL_20241215.csv", 2), "item")]),
                    ("missing_theirs", "R202412150005", 6_000_000, nil, "R202412150005 is not in the channel's bill", []),
                ]
                for (kind, key, amount, fields, summary, items) in breaks {
                    try db.execute(sql: """
                        INSERT INTO recon_break (identity, rule, partner, kind, status, business_date, found_on, updated_on, match_key,
                            amount_minor, currency, fields, summary) VALUES (?, 'bill', 'channel', ?, 'open', '2024-12-15', '2024-12-16', '2024-12-16', ?, ?, 'CNY', ?, ?)
                        """, arguments: ["bill/\(key)", kind, key, amount, fields, summary])
                    let id = db.lastInsertedRowID
                    for (side, event, role) in items {
                        try db.execute(sql: "INSERT INTO recon_break_item (break_id, side, ref, role) VALUES (?, ?, ?, ?)",
                                       arguments: [id, side, "e\(event)", role])
                    }
                    try db.execute(sql: """
                        INSERT INTO recon_break_history (break_id, business_date, at, status, kind, what)
                        VALUES (?, '2024-12-16', '2024-12-16T09:00:00Z', 'open', ?, 'found by the reconcile step')
                        """, arguments: [id, kind])
                }
            }
        }

        /// Writes the ledger from outside reckon, as the sqlite3 shell would.
        func write(_ body: (Database) throws -> Void) throws {
            let queue = try DatabaseQueue(path: database)
            try queue.writeWithoutTransaction { db in try body(db) }
        }

        /// `reckon breaks …` in the tests' time zone, as `user` ($USER) when given.
        func breaks(_ arguments: String..., user: String = "tester") throws -> Finished {
            try runReckon(["breaks"] + arguments + ["--config", config], environment: testTimeZone.merging(["USER": user]) { $1 })
        }
    }

    /// Local times (`2024-12-17 10:00:00 +08:00`) as `TIME`, stored UTC times as `UTC`.
    func untimed(_ text: String) -> String {
        text.replacing(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+08:00/, with: "TIME").replacing(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/, with: "UTC")
    }

    @Test func theListShowsOutstandingBreaksWithTheirAgesAndFilters() throws {
        let desk = try Desk()
        let list = try desk.breaks("list")
        #expect(list.status == 0, "\(list.stderr)")
        #expect(list.stdout == """
            #  day         age  partner  rule  kind            status         amount  key
            1  2024-12-15    1  channel  bill  amount          open     3,513.33 CNY  R202412150002
            2  2024-12-15    1  channel  bill  missing_theirs  open     1,049.42 CNY  R202412150001
            3  2024-12-15    1  channel  bill  missing_ours    open     1,049.42 CNY  R202412159999
            4  2024-12-15    1  channel  bill  missing_theirs  open    60,000.00 CNY  R202412150005
            4 breaks: 4 open; ages in working days to 2024-12-16

            """, "\(list.stdout)")

        let json = try jsonObject(try desk.breaks("list", "--kind", "missing_ours", "--json").stdout)
        #expect(json["as_of"] as? String == "2024-12-16")
        let only = try #require((json["breaks"] as? [[String: Any]])?.only)
        #expect(only["id"] as? Int == 3 && only["kind"] as? String == "missing_ours" && only["kind_label"] as? String == "missing on our side")
        #expect(only["amount_minor"] as? Int == 104_942 && only["currency"] as? String == "CNY")
        #expect(only["age_working_days"] as? Int == 1 && only["calendar"] as? String == "cn" && only["status"] as? String == "open")
        #expect(only["closed_on"] is NSNull && only["awaiting_approval"] is NSNull)

        #expect(try desk.breaks("list", "--older-than", "1").stdout == "no breaks\n")
        #expect(try desk.breaks("list", "--date", "2024-12-20", "--older-than", "4", "--partner", "channel").stdout.hasSuffix(
            "4 breaks: 4 open; ages in working days to 2024-12-20\n"))
        #expect(try desk.breaks("list", "--rule", "plans").stdout == "no breaks\n")

        let kind = try desk.breaks("list", "--kind", "late")
        #expect(kind.status == 64)
        #expect(kind.stderr.hasPrefix("Error: 'late' is not a kind of break; kinds are missing_ours, missing_theirs, amount, date, status, "
                                      + "duplicate, ambiguous, plan_mismatch, allocation_mismatch, statement_arithmetic, statement_continuity, "
                                      + "balance_below_warning\n"), "\(kind.stderr)")
        let status = try desk.breaks("list", "--status", "open,gone")
        #expect(status.status == 64)
        #expect(status.stderr.hasPrefix("Error: 'gone' is not a status of a break; statuses are pending, open, matched, resolved, closed, or all\n"))
    }

    @Test func showGivesTheFieldsWithSignedDeltasTheItemsWithFileAndLineAndTheHistory() throws {
        let desk = try Desk()
        let show = try desk.breaks("show", "1")
        #expect(show.status == 0, "\(show.stderr)")
        #expect(show.stdout == """
            break #1: amount (amount), open
              rule bill, partner channel, key R202412150002
              amount 3,513.33 CNY
              business day 2024-12-15, found on 2024-12-16, updated on 2024-12-16; age 1 working day to 2024-12-16 (calendar cn)
              R202412150002: the channel's amount is a cent more than ours

            fields (delta = theirs − ours)
              field       ours    theirs  delta
              amount  3,513.33  3,513.34  +0.01
              status   SUCCESS   SUCCESS

            items
              ours    item  e5  PLAT_REPAY_20241215.csv line 3: repayment of L202411150002 period 1 on 2024-12-15: 3,513.33 CNY
                        (principal 3,333.33, interest 180.00, penalty 0.00, fee 0.00), reference 4200002024121500000002
              theirs  counterpart  e10  PAY_BILL_20241215.csv line 3: channel bill line on 2024-12-15: 3,513.33 CNY (fee 3.51),
                        reference 4200002024121500000002

            history
              2024-12-16  2024-12-16 17:00:00 +08:00  open  found by the reconcile step

            """, "\(show.stdout)")

        let json = try jsonObject(try desk.breaks("show", "1", "--json").stdout)
        #expect(json["id"] as? Int == 1 && json["as_of"] as? String == "2024-12-16")
        let fields = try #require(json["fields"] as? [[String: Any]])
        #expect(fields.first?["name"] as? String == "amount" && fields.first?["kind"] as? String == "amount")
        #expect(fields.first?["ours_minor"] as? Int == 351_333 && fields.first?["theirs_minor"] as? Int == 351_334 && fields.first?["delta_minor"] as? Int == 1)
        #expect(fields.last?["kind"] as? String == "text" && fields.last?["theirs"] as? String == "SUCCESS")
        let items = try #require(json["items"] as? [[String: Any]])
        #expect(items.map { $0["side"] as? String } == ["left", "right"])
        #expect(items.map { $0["file"] as? String } == ["PLAT_REPAY_20241215.csv", "PAY_BILL_20241215.csv"])
        #expect(items.map { $0["line"] as? Int } == [3, 3])
        let record = try #require(items.first?["record"] as? [String: Any])
        #expect(record["loan_id"] as? String == "L202411150002" && record["principal_minor"] as? Int == 333_333 && record["amount_minor"] as? Int == 351_333)
        #expect((json["history"] as? [[String: Any]])?.map { $0["what"] as? String } == ["found by the reconcile step"])
        #expect((json["actions"] as? [Any])?.isEmpty == true)

        let missing = try desk.breaks("show", "99")
        #expect(missing.status == 1 && missing.stdout.isEmpty)
        #expect(missing.stderr == "reckon: no break #99 in the ledger (reckon breaks list --status all lists them)\n")
    }

    @Test func actionsAreKeptWithWhoAndWhenAndAboveTheLineWaitForASecondPerson() throws {
        let desk = try Desk()
        let match = try desk.breaks("match", "2", "3", "--note", "one payment, the channel mistyped the reference", "--as", "alice")
        #expect(match.status == 0, "\(match.stderr)")
        #expect(untimed(match.stdout) == "breaks #2, #3 matched by hand by alice at TIME (action #1)\n")

        let proposed = try desk.breaks("resolve", "4", "--reason", "partner_corrected", "--note", "the channel re-sends the bill", user: "alice")
        #expect(proposed.status == 0, "\(proposed.stderr)")
        #expect(proposed.stdout == "the resolution of break #4 (partner_corrected) awaits a second person's approval: 60,000.00 CNY is above the approval\n"
                + "    line 50,000.00; someone other than alice approves it with reckon breaks approve 4 (action #2)\n")
        let listed = try desk.breaks("list")
        #expect(listed.stdout.contains("\n4  2024-12-15    1  channel  bill  missing_theirs  open*   60,000.00 CNY  R202412150005\n"), "\(listed.stdout)")
        #expect(listed.stdout.hasSuffix("2 breaks: 2 open; ages in working days to 2024-12-16; * 1 awaits approval (reckon breaks show ID)\n"))

        let own = try desk.breaks("approve", "4", user: "alice")
        #expect(own.status == 1 && own.stdout.isEmpty)
        #expect(untimed(own.stderr) == "reckon: break #4: alice proposed this resolve at UTC and cannot approve it too; "
                + "a second person approves it (maker-checker)\n")
        let approved = try desk.breaks("approve", "4", "--json", user: "bob")
        #expect(approved.status == 0, "\(approved.stderr)")
        let object = try jsonObject(approved.stdout)
        #expect(object["action"] as? String == "approve" && object["status"] as? String == "resolved" && object["by"] as? String == "bob")
        #expect(object["applied"] as? Bool == true && object["action_id"] as? Int == 3 && object["amount_minor"] as? Int == 6_000_000)
        let approves = try #require(object["approves"] as? [String: Any])
        #expect(approves["maker"] as? String == "alice" && approves["reason"] as? String == "partner_corrected" && approves["action_id"] as? Int == 2)
        let again = try desk.breaks("approve", "4", user: "carol")
        #expect(again.status == 1)
        #expect(again.stderr == "reckon: break #4 has nothing awaiting approval (it is resolved); a match or resolution above the approval "
                + "line is what waits for one\n")

        let reason = try desk.breaks("resolve", "1", "--reason", "rounding", "--note", "n")
        #expect(reason.status == 64)
        #expect(reason.stderr.hasPrefix("Error: 'rounding' is not a reason a break is resolved with; the reasons are adjusted (an adjusting "
                                        + "entry or payment made it good), partner_corrected (the partner corrected its side), timing (a timing "
                                        + "difference that settles later), written_off (the difference is accepted and written off), not_a_break "
                                        + "(not a difference after all)\n"), "\(reason.stderr)")

        let reopen = try jsonObject(try desk.breaks("reopen", "3", "--note", "another payment after all", "--json", user: "carol").stdout)
        #expect(reopen["action"] as? String == "reopen" && reopen["break_ids"] as? [Int] == [2, 3] && reopen["previous_status"] as? String == "matched")
        #expect(reopen["by"] as? String == "carol")
        let all = try jsonObject(try desk.breaks("list", "--status", "all", "--json").stdout)
        #expect((all["breaks"] as? [[String: Any]])?.map { $0["status"] as? String } == ["open", "open", "open", "resolved"])
        let resolved = try jsonObject(try desk.breaks("list", "--status", "resolved", "--json").stdout)
        let four = try #require((resolved["breaks"] as? [[String: Any]])?.only)
        #expect(four["acted_by"] as? String == "alice" && four["reason"] as? String == "partner_corrected" && four["closed_on"] as? String == "2024-12-16")

        let show = try desk.breaks("show", "4")
        #expect(untimed(show.stdout).hasSuffix("""
            history
              2024-12-16  TIME  open  found by the reconcile step
              2024-12-16  TIME  open  resolution (partner_corrected) proposed by alice awaits a second
                        person's approval (60,000.00 CNY is above the approval line 50,000.00): the channel re-sends the bill
              2024-12-16  TIME  resolved  resolved (partner_corrected) as alice proposed at
                        UTC, approved by bob

            actions
              #2  TIME  alice  resolve  break #4  (partner_corrected): the channel re-sends the bill
              #3  TIME  bob  approve  break #4  (partner_corrected)

            """), "\(show.stdout)")
    }

    @Test func theAuditVerifiesTheChainAndNamesTheFirstBrokenLink() throws {
        let desk = try Desk()
        #expect(try desk.breaks("audit").stdout == "break action log: no actions yet\n")
        _ = try desk.breaks("match", "2", "3", "--note", "one payment", "--as", "alice")
        _ = try desk.breaks("resolve", "1", "--reason", "written_off", "--note", "a cent", "--as", "alice")
        _ = try desk.breaks("reopen", "1", "--note", "recheck", "--as", "bob")
        let audit = try desk.breaks("audit")
        #expect(audit.status == 0, "\(audit.stderr)")
        let head = try #require(try desk.hash(3))
        #expect(audit.stdout == "break action log: 3 actions, the hash chain holds; last row #3, hash \(head)\n")
        let intact = try jsonObject(try desk.breaks("audit", "--json").stdout)
        #expect(intact["intact"] as? Bool == true && intact["actions"] as? Int == 3 && intact["last_hash"] as? String == head)
        #expect(intact["first_broken"] is NSNull)

        // The log refuses an edit; someone with the sqlite3 shell drops the trigger first.
        #expect(throws: DatabaseError.self) { try desk.write { try $0.execute(sql: "UPDATE recon_action SET note = 'n' WHERE id = 2") } }
        try desk.write { db in
            try db.execute(sql: "DROP TRIGGER recon_action_is_append_only_update")
            try db.execute(sql: "UPDATE recon_action SET note = 'two cents' WHERE id = 2")
        }
        let stored = try #require(try desk.hash(2))
        let broken = try desk.breaks("audit")
        #expect(broken.status == 1)
        #expect(squeezed(broken.stdout).hasPrefix("break action log: 3 actions; the hash chain is broken at row #2: row #2 was edited: its columns hash to "))
        #expect(squeezed(broken.stdout).hasSuffix(", not its stored hash \(stored)"))
        let json = try desk.breaks("audit", "--json")
        #expect(json.status == 1)
        let link = try #require(try jsonObject(json.stdout)["first_broken"] as? [String: Any])
        #expect(link["row_id"] as? Int == 2 && link["problem"] as? String == "edited_row" && link["found"] as? String == stored)
    }
}

extension BreaksCommandTests.Desk {
    /// The stored hash of the action log's row.
    func hash(_ id: Int64) throws -> String? {
        try DatabaseQueue(path: database).read { try String.fetchOne($0, sql: "SELECT hash FROM recon_action WHERE id = ?", arguments: [id]) }
    }
}

extension Collection {
    /// The one element, or nil when there are none or several.
    var only: Element? { count == 1 ? first : nil }
}
