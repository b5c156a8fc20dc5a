import Foundation
import VigilCore

extension Schema where Input == Transaction {
    /// The fields of a canonical transaction that rules can name. Conditions are trees of
    /// closures, a dozen or more calls per event; each is passed the transaction, which is one
    /// reference (``Transaction`` boxes its fields), not a copy of its strings.
    public static let transaction: Schema<Transaction> = {
        func s(_ read: @escaping @Sendable (Transaction) -> String?) -> Field { .text(read) }
        var fields: [String: Field] = [
            "id": s { $0.id },
            "amount": .number { $0.amount },
            "currency": s { $0.currency },
            "channel": s { $0.channel },
            "reference": s { $0.reference },
            "source.format": s { $0.source?.format },
            "source.institution": s { $0.source?.institution },
            "source.file": s { $0.source?.file },
        ]
        // One plain closure per field: reading through a key path (`\Transaction.debtor`) or a
        // function returning the party costs generic metadata lookups or a copy of the whole
        // party on every event.
        fields["debtor.account"] = s { $0.debtor.account }
        fields["debtor.name"] = s { $0.debtor.name }
        fields["debtor.country"] = s { $0.debtor.country }
        fields["debtor.bic"] = s { $0.debtor.bic }
        fields["debtor.institution"] = s { $0.debtor.institution }
        fields["debtor.address"] = s { $0.debtor.address }
        fields["debtor.dob"] = s { $0.debtor.dob }
        fields["debtor.idNumber"] = s { $0.debtor.idNumber }
        fields["debtor.phone"] = s { $0.debtor.phone }
        fields["debtor.email"] = s { $0.debtor.email }
        fields["debtor.cardHash"] = s { $0.debtor.cardHash }
        fields["creditor.account"] = s { $0.creditor.account }
        fields["creditor.name"] = s { $0.creditor.name }
        fields["creditor.country"] = s { $0.creditor.country }
        fields["creditor.bic"] = s { $0.creditor.bic }
        fields["creditor.institution"] = s { $0.creditor.institution }
        fields["creditor.address"] = s { $0.creditor.address }
        fields["creditor.dob"] = s { $0.creditor.dob }
        fields["creditor.idNumber"] = s { $0.creditor.idNumber }
        fields["creditor.phone"] = s { $0.creditor.phone }
        fields["creditor.email"] = s { $0.creditor.email }
        fields["creditor.cardHash"] = s { $0.creditor.cardHash }
        return Schema(name: "transaction", fields: fields)
    }()
}
