"""Reports rendered for people: the spreadsheet (`xlsx`), the CSV (`csv_text`) and the
charts as SVG pictures (`svg`), all from `booking.services.reports.tables.Table`."""
