// The one paging loop over ListFragments (GetClip's selection and HLS/DASH windows use it).
#include "archive/archive.h"

namespace streamarc::archive {

Status ForEachFragment(Archive& archive, ListRequest request,
                       const std::function<bool(FragmentInfo& fragment)>& visit) {
  while (true) {
    ASSIGN_OR_RETURN(ListResult page, archive.ListFragments(request));
    for (FragmentInfo& f : page.fragments) {
      if (!visit(f)) return Status::Ok();
    }
    if (page.next_token.empty()) return Status::Ok();
    request.next_token = std::move(page.next_token);
  }
}

}  // namespace streamarc::archive
