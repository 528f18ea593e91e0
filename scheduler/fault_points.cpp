#include "convene/fault_points.h"

#include <atomic>

namespace convene {
namespace {
std::atomic<FaultHook> g_hook{nullptr};
}  // namespace

void set_fault_hook(FaultHook hook) noexcept { g_hook.store(hook, std::memory_order_release); }

FaultHook fault_hook() noexcept { return g_hook.load(std::memory_order_acquire); }

}  // namespace convene
