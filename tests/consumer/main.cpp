// Uses kspam from an installed package through the umbrella header (so every host header must
// compile for a consumer): read a tiny TSV, split it, print the sizes.
#include <iostream>
#include <sstream>

#include <kspam/kspam.hpp>

int main() {
  std::istringstream tsv(
      "product_id\tdescription\timage_url\tlabel\tyes_count\tno_count\n"
      "a\tRed wool scarf\t\t0\t0\t3\n"
      "b\tGUCCI NIKE ADIDAS #sale #cheap DM me\t\t1\t3\t0\n"
      "c\tLeather boots, size 39\t\t0\t1\t2\n"
      "d\t#bag #bag #bag WhatsApp for price\t\t1\t2\t1\n");
  kspam::data::TsvReader reader(tsv, "inline.tsv");
  std::vector<kspam::data::Listing> rows;
  kspam::data::for_each_listing(reader, {}, [&](const kspam::data::Listing& r) { rows.push_back(r); });
  const auto split = kspam::data::stratified_split(rows, 0.5, 7);
  std::cout << rows.size() << " rows: " << split.train.size() << " train, " << split.val.size() << " val\n";
  return rows.size() == 4 && split.train.size() == 2 ? 0 : 1;
}
