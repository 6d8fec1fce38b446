DROP TABLE trade_bill_rows;
DROP TABLE trade_bills;
DROP FUNCTION trade_bills_immutable();
