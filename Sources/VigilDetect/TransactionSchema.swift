import Foundation
import VigilCore

extension Schema where Input == Transaction {
    /// The fields of a canonical transaction that rules can name.
    public static let transaction: Schema<Transaction> = {
        func s(_ read: @escaping @Sendable (Transaction) -> String?) -> Field {
            Field(type: .string) { tx in read(tx).map(Value.string) ?? .null }
        }
        var fields: [String: Field] = [
            "id": s { $0.id },
            "amount": Field(type: .decimal) { .decimal($0.amount) },
            "currency": s { $0.currency },
            "channel": s { $0.channel },
            "reference": s { $0.reference },
            "source.format": s { $0.source?.format },
            "source.institution": s { $0.source?.institution },
            "source.file": s { $0.source?.file },
        ]
        for (side, party) in [("debtor", \Transaction.debtor), ("creditor", \Transaction.creditor)] as [(String, KeyPath<Transaction, Party> & Sendable)] {
            fields["\(side).account"] = s { $0[keyPath: party].account }
            fields["\(side).name"] = s { $0[keyPath: party].name }
            fields["\(side).country"] = s { $0[keyPath: party].country }
            fields["\(side).bic"] = s { $0[keyPath: party].bic }
            fields["\(side).institution"] = s { $0[keyPath: party].institution }
            fields["\(side).address"] = s { $0[keyPath: party].address }
        }
        return Schema(name: "transaction", fields: fields)
    }()
}
