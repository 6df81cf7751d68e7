// Tests of reading policy files (policy_files.cc): the main file and its
// fragment directory in byte order, sshd's StrictModes on every file and
// directory from /, links, special files, missing and oversized files, each
// refused with its issue.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "core/policy_loader.h"
#include "tests/policy_text_testing.h"
#include "tests/testing.h"

namespace certgate::core {
namespace {

using certgate::testing::TempDir;
using certgate::testing::WriteFile;
using certgate::testing::policy_text::Header;
using certgate::testing::policy_text::Issues;
using certgate::testing::policy_text::kKeyB;
using certgate::testing::policy_text::Mine;

TEST(PolicyFilesTest, LoadsMainAndFragmentsInByteOrder) {
  TempDir dir;
  const std::string main = dir.Path("policy.yaml");
  WriteFile(main, Header() + "rules:\n  - name: main\n    users: [a]\n    authorities: [prod]\n    principals: [x]\n");
  ASSERT_EQ(mkdir((main + ".d").c_str(), 0755), 0);
  WriteFile(main + ".d/20-b.yaml", "version: 1\nrules:\n  - name: b\n    users: [a]\n    authorities: [stage]\n    principals: [x]\n");
  WriteFile(main + ".d/10-a.yaml", std::string("version: 1\nauthorities:\n  stage:\n    keys: [\"") + kKeyB +
                                       "\"]\nrules:\n  - name: a\n    users: [a]\n    authorities: [prod]\n    principals: [x]\n");
  // A fragment may leave out "version: 1" (the main file may not).
  WriteFile(main + ".d/B-upper.yaml", "rules:\n  - name: upper\n    users: [a]\n    authorities: [prod]\n    principals: [x]\n");
  WriteFile(main + ".d/notes.txt", "not yaml at all: [");
  WriteFile(main + ".d/.hidden.yaml", "not yaml at all: [");
  WriteFile(main + ".d/x.yml", "not yaml at all: [");
  LoadResult r = LoadPolicy(main, Mine());
  ASSERT_TRUE(r.policy.has_value()) << Issues(r);
  const Policy& p = *r.policy;
  EXPECT_EQ(p.files, (std::vector<std::string>{main, main + ".d/10-a.yaml", main + ".d/20-b.yaml",
                                               main + ".d/B-upper.yaml"}));
  ASSERT_EQ(p.rules.size(), 4u);
  EXPECT_EQ(p.rules[0].name, "main");
  EXPECT_EQ(p.rules[1].name, "a");
  EXPECT_EQ(p.rules[2].name, "b");
  EXPECT_EQ(p.rules[3].name, "upper");
  EXPECT_EQ(p.rules[2].authorities, std::vector<size_t>{1});
  EXPECT_EQ(p.rules[2].number, 3u);
  EXPECT_EQ(p.rules[2].where.File(), main + ".d/20-b.yaml");
  // A rule that sets no constraint stores none (Own() is empty).
  EXPECT_EQ(p.rules[2].constraints, nullptr);
  EXPECT_EQ(p.rules[2].Own(), Constraints{});
  EXPECT_NE(p.rules[1].where.file.get(), p.rules[2].where.file.get());
}

TEST(PolicyFilesTest, AFragmentThatSaysAVersionMustSayOne) {
  TempDir dir;
  const std::string main = dir.Path("policy.yaml");
  WriteFile(main, Header());
  ASSERT_EQ(mkdir((main + ".d").c_str(), 0755), 0);
  WriteFile(main + ".d/a.yaml", "version: 2\nrules: []\n");
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())),
            main + ".d/a.yaml:1:10: unsupported policy version 2; this certgate reads version 1\n");
  WriteFile(main + ".d/a.yaml", "");
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())),
            main + ".d/a.yaml:1:1: empty policy fragment; remove it, or write at least \"version: 1\" in it\n");
  // The main file still needs it.
  WriteFile(main + ".d/a.yaml", "rules: []\n");
  ASSERT_TRUE(LoadPolicy(main, Mine()).policy.has_value());
  WriteFile(main, "rules: []\n");
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())).rfind(main + ":1:1: missing \"version: 1\"", 0), 0u);
}

TEST(PolicyFilesTest, FragmentDirectoryOfTheMainFile) {
  EXPECT_EQ(FragmentDirectory("/srv/p.yaml"), "/srv/p.yaml.d");
  // The default spelled out with --policy means what no --policy means.
  EXPECT_EQ(FragmentDirectory(kDefaultPolicyPath), "/etc/certgate/policy.d");
  // However it is spelled: the same directory and file name.
  TempDir dir;
  ASSERT_EQ(mkdir(dir.Path("etc").c_str(), 0755), 0);
  ASSERT_EQ(symlink(dir.Path("etc").c_str(), dir.Path("link").c_str()), 0);
  const std::string wanted = dir.Path("etc/policy.yaml");
  for (const std::string& spelled : {wanted, dir.Path("etc//policy.yaml"), dir.Path("etc/./policy.yaml"),
                                     dir.Path("link/policy.yaml")}) {
    EXPECT_EQ(FragmentDirectory(spelled, wanted), dir.Path("etc/policy.d")) << spelled;
  }
  EXPECT_EQ(FragmentDirectory(dir.Path("etc/other.yaml"), wanted), dir.Path("etc/other.yaml.d"));
  EXPECT_EQ(FragmentDirectory(dir.Path("policy.yaml"), wanted), dir.Path("policy.yaml.d"));
  EXPECT_EQ(FragmentDirectory(dir.Path("missing/policy.yaml"), wanted), dir.Path("missing/policy.yaml.d"));
}

TEST(PolicyFilesTest, FragmentDirectoryIsOptional) {
  TempDir dir;
  WriteFile(dir.Path("p.yaml"), Header());
  LoadResult r = LoadPolicy(dir.Path("p.yaml"), Mine());
  ASSERT_TRUE(r.policy.has_value()) << Issues(r);
}

TEST(PolicyFilesTest, DuplicateAuthorityAcrossFiles) {
  TempDir dir;
  const std::string main = dir.Path("policy.yaml");
  WriteFile(main, Header());
  ASSERT_EQ(mkdir((main + ".d").c_str(), 0755), 0);
  WriteFile(main + ".d/a.yaml", std::string("version: 1\nauthorities:\n  prod:\n    keys: [\"") + kKeyB + "\"]\n");
  LoadResult r = LoadPolicy(main, Mine());
  EXPECT_FALSE(r.policy.has_value());
  EXPECT_EQ(Issues(r), main + ".d/a.yaml:3:3: authority \"prod\" is already defined at " + main +
                           ":3; each authority name may appear only once\n");
}

TEST(PolicyFilesTest, MissingMainFile) {
  TempDir dir;
  LoadResult r = LoadPolicy(dir.Path("none.yaml"), Mine());
  EXPECT_FALSE(r.policy.has_value());
  ASSERT_FALSE(r.issues.empty());
  EXPECT_EQ(r.issues[0].ToString(), dir.Path("none.yaml") + ":1:1: cannot open: No such file or directory; write the "
                                                           "policy to " + dir.Path("none.yaml") +
                                        " (certgate-policy(5)) or name it with --policy");
}

TEST(PolicyFilesTest, PermissionChecks) {
  TempDir dir;
  const std::string main = dir.Path("policy.yaml");
  WriteFile(main, Header(), 0664);
  LoadResult r = LoadPolicy(main, Mine());
  EXPECT_FALSE(r.policy.has_value());
  EXPECT_EQ(Issues(r), main + ":1:1: unsafe permissions: writable by group or others; run chmod go-w " + main + "\n");

  ASSERT_EQ(chmod(main.c_str(), 0602), 0);
  EXPECT_FALSE(LoadPolicy(main, Mine()).policy.has_value());

  ASSERT_EQ(chmod(main.c_str(), 0644), 0);
  EXPECT_TRUE(LoadPolicy(main, Mine()).policy.has_value());

  LoadOptions other = Mine();
  other.owner_uid = other.owner_uid + 1;
  LoadResult wrong_owner = LoadPolicy(main, other);
  EXPECT_FALSE(wrong_owner.policy.has_value());
  // The directory is checked first; a file in a directory that fails is
  // not read.
  const std::string uid = std::to_string(getuid());
  const std::string want = std::to_string(other.owner_uid);
  EXPECT_EQ(Issues(wrong_owner), dir.path() + ":1:1: unsafe permissions: owned by uid " + uid + ", not uid " + want +
                                     "; run chown " + want + " " + dir.path() + "\n");

  LoadOptions unchecked = Mine();
  unchecked.check_permissions = false;
  unchecked.owner_uid = 12345;
  ASSERT_EQ(chmod(main.c_str(), 0666), 0);
  EXPECT_TRUE(LoadPolicy(main, unchecked).policy.has_value());
}

// Like sshd's StrictModes, every directory from / down to the policy's is
// checked, and none may be a symbolic link (Mine() trusts only $TMPDIR and
// what is above it).
TEST(PolicyFilesTest, EveryDirectoryAboveThePolicyIsChecked) {
  TempDir dir;
  const std::string above = dir.Path("above");
  const std::string main = above + "/etc/policy.yaml";
  ASSERT_EQ(mkdir(above.c_str(), 0755), 0);
  ASSERT_EQ(mkdir((above + "/etc").c_str(), 0755), 0);
  WriteFile(main, Header());
  ASSERT_TRUE(LoadPolicy(main, Mine()).policy.has_value()) << Issues(LoadPolicy(main, Mine()));

  ASSERT_EQ(chmod(above.c_str(), 0775), 0);
  LoadResult group_writable = LoadPolicy(main, Mine());
  EXPECT_FALSE(group_writable.policy.has_value());
  EXPECT_EQ(Issues(group_writable),
            above + ":1:1: unsafe permissions: writable by group or others; run chmod go-w " + above + "\n");
  // The test's own directory is checked too: only what is above it is trusted.
  ASSERT_EQ(chmod(above.c_str(), 0755), 0);
  ASSERT_EQ(chmod(dir.path().c_str(), 0757), 0);
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())), dir.path() + ":1:1: unsafe permissions: writable by group or others; "
                                                            "run chmod go-w " + dir.path() + "\n");
  ASSERT_EQ(chmod(dir.path().c_str(), 0700), 0);

  // A shared directory like /tmp: chmod go-w would be the wrong advice.
  ASSERT_EQ(chmod(above.c_str(), 01777), 0);
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())),
            above + ":1:1: unsafe permissions: writable by group or others (a shared directory like /tmp); "
                    "move the files to a directory only root can write, such as /etc/certgate\n");
  ASSERT_EQ(chmod(above.c_str(), 0755), 0);

  // A link anywhere in the path is refused, and the message names the
  // real directory.
  const std::string link = dir.Path("link");
  ASSERT_EQ(symlink(above.c_str(), link.c_str()), 0);
  LoadResult linked = LoadPolicy(link + "/etc/policy.yaml", Mine());
  EXPECT_FALSE(linked.policy.has_value());
  EXPECT_EQ(Issues(linked), link + ":1:1: is a symbolic link to " + above +
                                "; certgate does not follow links in the path of its files: name the real directory\n");
  ASSERT_EQ(symlink((above + "/etc").c_str(), dir.Path("etc-link").c_str()), 0);
  EXPECT_EQ(Issues(LoadPolicy(dir.Path("etc-link/policy.yaml"), Mine())).rfind(dir.Path("etc-link") + ":1:1: is a symbolic link", 0),
            0u);

  // A file where a directory should be, and a missing directory.
  WriteFile(dir.Path("file"), "");
  EXPECT_EQ(Issues(LoadPolicy(dir.Path("file/policy.yaml"), Mine())), dir.Path("file") + ":1:1: not a directory\n");
  EXPECT_EQ(Issues(LoadPolicy(dir.Path("none/policy.yaml"), Mine())),
            dir.Path("none") + ":1:1: cannot open directory: No such file or directory; write the policy to " +
                dir.Path("none") + "/policy.yaml (certgate-policy(5)) or name it with --policy\n");

  if (getuid() != 0) return;  // giving a directory away needs root
  // Above the policy's own directory, root may own a directory too.
  ASSERT_EQ(chown(above.c_str(), 12345, 0), 0);
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())),
            above + ":1:1: unsafe permissions: owned by uid 12345, not root; run chown root " + above + "\n");
}

TEST(PolicyFilesTest, UnsafeDirectories) {
  TempDir dir;
  const std::string sub = dir.Path("etc");
  ASSERT_EQ(mkdir(sub.c_str(), 0755), 0);
  const std::string main = sub + "/policy.yaml";
  WriteFile(main, Header());
  ASSERT_EQ(chmod(sub.c_str(), 0775), 0);
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())),
            sub + ":1:1: unsafe permissions: writable by group or others; run chmod go-w " + sub + "\n");
  ASSERT_EQ(chmod(sub.c_str(), 0755), 0);

  ASSERT_EQ(mkdir((main + ".d").c_str(), 0777), 0);
  ASSERT_EQ(chmod((main + ".d").c_str(), 0777), 0);
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())), main + ".d:1:1: unsafe permissions: writable by group or others; run chmod go-w " +
                                                   main + ".d\n");
  ASSERT_EQ(chmod((main + ".d").c_str(), 0755), 0);
  WriteFile(main + ".d/x.yaml", "version: 1\n", 0666);
  ASSERT_EQ(chmod((main + ".d/x.yaml").c_str(), 0666), 0);
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())), main + ".d/x.yaml:1:1: unsafe permissions: writable by group or others; "
                                                   "run chmod go-w " + main + ".d/x.yaml\n");
}

TEST(PolicyFilesTest, SymlinksAndSpecialFilesRefused) {
  TempDir dir;
  const std::string real = dir.Path("real.yaml");
  WriteFile(real, Header());
  const std::string link = dir.Path("policy.yaml");
  ASSERT_EQ(symlink(real.c_str(), link.c_str()), 0);
  // The error names where the link leads, as for a linked directory.
  EXPECT_EQ(Issues(LoadPolicy(link, Mine())),
            link + ":1:1: is a symbolic link to " + real +
                "; certgate does not follow links in the path of its files: name the real file\n");

  ASSERT_EQ(symlink(dir.path().c_str(), (real + ".d").c_str()), 0);
  EXPECT_EQ(Issues(LoadPolicy(real, Mine())),
            real + ".d:1:1: is a symbolic link to " + dir.path() +
                "; certgate does not follow links in the path of its files: name the real directory\n");
  ASSERT_EQ(unlink((real + ".d").c_str()), 0);

  const std::string fifo = dir.Path("fifo.yaml");
  ASSERT_EQ(mkfifo(fifo.c_str(), 0644), 0);
  EXPECT_EQ(Issues(LoadPolicy(fifo, Mine())),
            fifo + ":1:1: is a FIFO, not a regular file; write the policy to a regular file and name that\n");
  const std::string issues = Issues(LoadPolicy(dir.path(), Mine()));
  const std::string tail = dir.path() + ":1:1: is a directory, not the policy file; name the file, e.g. --policy " +
                           dir.path() + "/policy.yaml\n";
  ASSERT_GE(issues.size(), tail.size());
  EXPECT_EQ(issues.substr(issues.size() - tail.size()), tail);
  EXPECT_EQ(Issues(LoadPolicy(dir.path() + "/", Mine())),
            dir.path() + "/:1:1: names a directory, not the policy file; name the file, e.g. --policy " + dir.path() +
                "/policy.yaml\n");

  // In the fragment directory: what to do with an entry that is no file.
  ASSERT_EQ(mkdir((real + ".d").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((real + ".d/sub.yaml").c_str(), 0755), 0);
  EXPECT_EQ(Issues(LoadPolicy(real, Mine())),
            real + ".d/sub.yaml:1:1: is a directory, not a regular file; the fragment directory may hold only "
                   "regular *.yaml files: rename or remove it\n");
}

TEST(PolicyFilesTest, FileTooLarge) {
  TempDir dir;
  const std::string main = dir.Path("big.yaml");
  WriteFile(main, "version: 1\n");
  ASSERT_EQ(truncate(main.c_str(), static_cast<off_t>(kMaxPolicyFileSize + 1)), 0);
  EXPECT_EQ(Issues(LoadPolicy(main, Mine())),
            main + ":1:1: file is larger than " + std::to_string(kMaxPolicyFileSize) +
                " bytes (64 MiB), more than any policy may hold: shrink it\n");
}

}  // namespace
}  // namespace certgate::core
